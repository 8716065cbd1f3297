"""Periodic upkeep: expire stuck jobs, rescue dead workers' jobs, prune old ones.

Each function is called by a Procrastinate periodic task (`jobs/tasks.py`),
and can be called directly (tests, admin, a shell).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.utils import timezone
from psycopg import errors as psycopg_errors

from jobs import jobsql, lifecycle, registry
from jobs.models import Job, JobStatus

logger = logging.getLogger(__name__)


@dataclass
class MaintenanceResult:
    expired: int = 0
    rescued: int = 0
    pruned: int = 0


def expire_stuck_jobs(*, now: dt.datetime | None = None, batch: int = 500) -> int:
    """Fail jobs pending too long, or running past their type's maximum duration."""
    now = now or timezone.now()
    conf = settings.JOBS
    expired = 0
    soonest = now - dt.timedelta(seconds=registry.min_pending_expiry())
    stale_pending = Job.objects.filter(
        status=JobStatus.PENDING, available_at__lt=soonest
    ).values_list("id", "type", "available_at", "procrastinate_job_id")[:batch]
    for job_id, job_type, available_at, token in list(stale_pending):
        try:
            limit = registry.get(job_type).pending_expiry
        except Exception:
            limit = int(conf["PENDING_EXPIRY_SECONDS"])
        # Only the attempt found too old: `token` and the status re-checked in
        # the UPDATE, so an attempt that began since is left alone.
        if available_at < now - dt.timedelta(seconds=limit) and _expire(
            job_id,
            token=token,
            from_statuses=[JobStatus.PENDING],
            reason=f"Expired: pending for more than {limit} s without a worker taking it",
        ):
            expired += 1

    shortest = registry.min_max_duration()
    running = Job.objects.filter(
        status=JobStatus.RUNNING, started_at__lt=now - dt.timedelta(seconds=shortest)
    ).values_list("id", "type", "started_at", "procrastinate_job_id", "attempts")[:batch]
    for job_id, job_type, started_at, token, attempt in list(running):
        try:
            limit = registry.get(job_type).max_duration
        except Exception:
            limit = int(conf["DEFAULT_MAX_DURATION_SECONDS"])
        if started_at is not None and started_at < now - dt.timedelta(seconds=limit) and _expire(
            job_id,
            token=token,
            attempt=attempt,
            from_statuses=[JobStatus.RUNNING],
            reason=f"Expired: running for more than {limit} s",
        ):
            expired += 1
    if expired:
        logger.warning("expired %d stuck jobs", expired)
    return expired


def _expire(job_id: Any, **kwargs: Any) -> Any:
    """`job_expire` for maintenance: a job row locked by a frozen worker's open
    transaction makes this one expiry give up (lock_timeout), not the sweep."""
    try:
        with transaction.atomic():
            _set_lock_timeout()
            return lifecycle.job_expire(job_id, **kwargs)
    except OperationalError as exc:
        if not _is_lock_timeout(exc):
            raise
        logger.warning("expiry of job %s skipped: its row is locked", job_id)
        return None


def _set_lock_timeout() -> None:
    """Maintenance's statements wait at most MAINTENANCE_LOCK_TIMEOUT_MS for a
    row lock (for the current transaction): a row held by a frozen worker
    delays only itself."""
    ms = int(settings.JOBS.get("MAINTENANCE_LOCK_TIMEOUT_MS", 2000))
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{ms}ms"])


def _is_lock_timeout(exc: BaseException) -> bool:
    """A lock wait given up (lock_timeout), or a deadlock or serialization failure
    with a worker's transaction: this row (or prune) is left for the next run."""
    cause = exc.__cause__
    return isinstance(cause, psycopg_errors.LockNotAvailable | psycopg_errors.DeadlockDetected
                      | psycopg_errors.SerializationFailure) or "lock timeout" in str(exc)


# The stalled queue rows, each claimed with SKIP LOCKED: a row a frozen worker
# still has locked (inside its finish) is left for the next rescue.
_STALLED_ROWS = """
WITH stalled_workers AS (
    SELECT id FROM procrastinate_workers
    WHERE last_heartbeat < now() - make_interval(secs => %s)
)
SELECT job.id, job.task_name, (job.args ->> 'job_id') AS job_id
FROM procrastinate_jobs job
LEFT JOIN stalled_workers sw ON sw.id = job.worker_id
WHERE job.status = 'doing' AND (job.worker_id IS NULL OR sw.id IS NOT NULL)
ORDER BY job.id
LIMIT %s
FOR UPDATE OF job SKIP LOCKED
"""

# The stalled worker rows nobody holds, and, of their queue rows, those nobody
# holds: deleting a worker row clears it from its queue rows (ON DELETE SET
# NULL), which would wait behind a row a frozen process has locked. A worker
# with such a row is pruned next time. (Procrastinate's own
# prune_stalled_workers waited behind a frozen worker's open transaction.)
_STALLED_WORKERS = """
SELECT id FROM procrastinate_workers
WHERE last_heartbeat < now() - make_interval(secs => %s)
FOR UPDATE SKIP LOCKED
"""
_WORKER_ROWS = """
SELECT worker_id, count(*) FROM procrastinate_jobs WHERE worker_id = ANY(%s)
GROUP BY worker_id
"""
_WORKER_ROWS_LOCKED = """
SELECT worker_id, count(*) FROM (
    SELECT worker_id FROM procrastinate_jobs WHERE worker_id = ANY(%s)
    FOR UPDATE SKIP LOCKED
) free GROUP BY worker_id
"""


def _prune_stalled_workers(seconds: float) -> int:
    with transaction.atomic():
        _set_lock_timeout()
        with connection.cursor() as cursor:
            cursor.execute(_STALLED_WORKERS, [seconds])
            stalled = [row[0] for row in cursor.fetchall()]
            if not stalled:
                return 0
            cursor.execute(_WORKER_ROWS, [stalled])
            rows = dict(cursor.fetchall())
            cursor.execute(_WORKER_ROWS_LOCKED, [stalled])
            free = dict(cursor.fetchall())
            prunable = [w for w in stalled if rows.get(w, 0) == free.get(w, 0)]
            if prunable:
                cursor.execute("DELETE FROM procrastinate_workers WHERE id = ANY(%s)",
                               [prunable])
            return len(prunable)


def rescue_stalled_jobs(
    *, seconds_since_heartbeat: float | None = None, batch: int = 500
) -> int:
    """Hand the jobs of workers that stopped sending heartbeats to live workers.

    Procrastinate neither retries stalled jobs nor frees their locks by itself.
    Each stalled queue row of a platform job that is still active gets a new
    attempt: a new queue row (with the same lock), recorded on the job as its
    token, and the stalled row ends as `aborted` (`lifecycle.job_rescue`). A
    stalled worker that comes back then owns neither. A stalled row whose job
    has finished (or moved on to another row) just ends. Other tasks'
    rows (maintenance, periodic) are retried in place, as before.

    Every claim skips rows locked elsewhere and waits at most the
    maintenance lock timeout, so one frozen worker delays only its own rows.
    """
    seconds = (
        float(settings.JOBS["STALLED_WORKER_SECONDS"])
        if seconds_since_heartbeat is None
        else seconds_since_heartbeat
    )
    rescued = 0
    with transaction.atomic():
        _set_lock_timeout()
        with connection.cursor() as cursor:
            cursor.execute(_STALLED_ROWS, [seconds, batch])
            rows = cursor.fetchall()
        for queue_id, task_name, job_id in rows:
            try:
                with transaction.atomic():
                    rescued += _rescue_row(queue_id, task_name, job_id)
            except OperationalError as exc:
                if not _is_lock_timeout(exc):
                    raise
                logger.warning("rescue of queue row %s skipped: locked", queue_id)
    try:
        _prune_stalled_workers(seconds)
    except OperationalError as exc:
        # Pruning a worker row also clears it from that worker's queue rows: one a
        # worker holds makes the prune wait for it; it is pruned next time.
        if not _is_lock_timeout(exc):
            raise
        logger.warning("pruning stalled workers skipped this time: %s", exc)
    if rescued:
        logger.warning("rescued %d jobs of stalled workers", rescued)
    return rescued


def _rescue_row(queue_id: int, task_name: str, job_id: str | None) -> int:
    """One stalled queue row (claimed by the caller); 1 if a job was rescued."""
    if task_name != jobsql.RUN_TASK_NAME or not job_id:
        # On this connection: the row is locked by this transaction.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT procrastinate_retry_job_v2(%s, now(), NULL, NULL, NULL)", [queue_id]
            )
        return 0
    job = (
        Job.objects.select_for_update(skip_locked=True)
        .filter(id=job_id)
        .values("status", "procrastinate_job_id")
        .first()
    )
    if job is None:
        # Gone (pruned), or locked by someone else right now: a job that is
        # gone needs no row; a locked one is found again next time.
        if not Job.objects.filter(id=job_id).exists():
            jobsql.supersede_queue_row(queue_id)
        return 0
    if job["procrastinate_job_id"] != queue_id or job["status"] not in (
        JobStatus.PENDING,
        JobStatus.RUNNING,
    ):
        # A finished job's or a superseded attempt's row: nothing to run.
        _end_queue_row(queue_id, job["status"])
        return 0
    done = lifecycle.job_rescue(
        job_id, token=queue_id, reason="Its worker stopped responding; queued again"
    )
    return 1 if done is not None else 0


def _end_queue_row(queue_id: int, job_status: str) -> None:
    """End a stalled row whose job needs it no more, with the status that agrees
    with the job (a completed job's row succeeded)."""
    status = "succeeded" if job_status == JobStatus.COMPLETED else "aborted"
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE procrastinate_jobs SET status = %s::procrastinate_job_status,"
            " abort_requested = false WHERE id = %s AND status IN ('todo', 'doing')",
            [status, queue_id],
        )


def prune_old_jobs(*, now: dt.datetime | None = None) -> int:
    """Delete finished jobs past retention, with their queue rows.

    Completed jobs are kept RETENTION_COMPLETED_DAYS, failed and cancelled
    ones RETENTION_FAILED_DAYS. Deletes in batches so no transaction holds
    many rows, and pauses after each batch for PRUNE_PAUSE_RATIO times as
    long as it took: a prune of a large backlog takes a share of one core
    (1 / (1 + ratio)) instead of a whole one, so the workers on the same
    machine keep their pace (on 2 cores, unpaced 5,000-row batches cost the
    workers 28% of their throughput).
    """
    now = now or timezone.now()
    conf = settings.JOBS
    batch = int(conf["PRUNE_BATCH_SIZE"])
    pause_ratio = float(conf.get("PRUNE_PAUSE_RATIO", 0))
    rules = [
        ([JobStatus.COMPLETED], now - dt.timedelta(days=int(conf["RETENTION_COMPLETED_DAYS"]))),
        (
            [JobStatus.FAILED, JobStatus.CANCELLED],
            now - dt.timedelta(days=int(conf["RETENTION_FAILED_DAYS"])),
        ),
    ]
    total = 0
    for statuses, cutoff in rules:
        while True:
            started = time.monotonic()
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "WITH doomed AS ("
                    "  SELECT id, procrastinate_job_id FROM jobs_job"
                    "  WHERE status = ANY(%s) AND completed_at < %s"
                    "  ORDER BY completed_at LIMIT %s FOR UPDATE SKIP LOCKED),"
                    " ev AS (DELETE FROM jobs_jobevent WHERE job_id IN (SELECT id FROM doomed)),"
                    " st AS (DELETE FROM jobs_jobstep WHERE job_id IN (SELECT id FROM doomed)),"
                    " rl AS (UPDATE jobs_runlog SET job_id = NULL"
                    "        WHERE job_id IN (SELECT id FROM doomed)),"
                    " pq AS (DELETE FROM procrastinate_jobs WHERE id IN"
                    "        (SELECT procrastinate_job_id FROM doomed)"
                    "        AND status NOT IN ('todo', 'doing'))"
                    " DELETE FROM jobs_job WHERE id IN (SELECT id FROM doomed)",
                    [[str(s) for s in statuses], cutoff, batch],
                )
                deleted = cursor.rowcount
            total += deleted
            if deleted < batch:
                break
            _pace(started, pause_ratio)
    total_queue_rows = _prune_task_rows(batch=batch, pause_ratio=pause_ratio)
    if total or total_queue_rows:
        logger.info(
            "pruned %d finished jobs and %d finished task rows", total, total_queue_rows
        )
    return total


def _pace(started: float, pause_ratio: float) -> None:
    """Sleep `pause_ratio` times the time since `started` (at most 5 s)."""
    if pause_ratio > 0:
        time.sleep(min(5.0, (time.monotonic() - started) * pause_ratio))


def _prune_task_rows(*, batch: int, keep_hours: int = 24, pause_ratio: float = 0) -> int:
    """Delete finished queue rows that belong to no platform job (periodic and
    maintenance tasks) after a day, keeping the rows periodic defers point at."""
    deleted_total = 0
    while True:
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM procrastinate_jobs WHERE id IN ("
                "  SELECT p.id FROM procrastinate_jobs p"
                "  WHERE p.task_name <> %s"
                "    AND p.status IN ('succeeded', 'failed', 'cancelled', 'aborted')"
                "    AND NOT EXISTS (SELECT 1 FROM procrastinate_periodic_defers d"
                "                    WHERE d.job_id = p.id)"
                "    AND NOT EXISTS (SELECT 1 FROM procrastinate_events e WHERE e.job_id = p.id"
                "                    AND e.at > now() - make_interval(hours => %s))"
                "  LIMIT %s)",
                [jobsql.RUN_TASK_NAME, keep_hours, batch],
            )
            deleted = cursor.rowcount
        deleted_total += deleted
        if deleted < batch:
            return deleted_total
        _pace(started, pause_ratio)
