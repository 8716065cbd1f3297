"""Periodic upkeep: expire stuck jobs, rescue dead workers' jobs, prune old ones.

Each function is called by a Procrastinate periodic task (`jobs/tasks.py`),
and can be called directly (tests, admin, a shell).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from procrastinate import sql as procrastinate_sql
from procrastinate.contrib.django import app as procrastinate_app

from jobs import lifecycle, registry
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
    ).values_list("id", "type", "available_at")[:batch]
    for job_id, job_type, available_at in list(stale_pending):
        try:
            limit = registry.get(job_type).pending_expiry
        except Exception:
            limit = int(conf["PENDING_EXPIRY_SECONDS"])
        if available_at < now - dt.timedelta(seconds=limit) and lifecycle.job_expire(
            job_id,
            reason=f"Expired: pending for more than {limit} s without a worker taking it",
        ):
            expired += 1

    shortest = registry.min_max_duration()
    running = Job.objects.filter(
        status=JobStatus.RUNNING, started_at__lt=now - dt.timedelta(seconds=shortest)
    ).values_list("id", "type", "started_at")[:batch]
    for job_id, job_type, started_at in list(running):
        try:
            limit = registry.get(job_type).max_duration
        except Exception:
            limit = int(conf["DEFAULT_MAX_DURATION_SECONDS"])
        if started_at is not None and started_at < now - dt.timedelta(
            seconds=limit
        ) and lifecycle.job_expire(
            job_id, reason=f"Expired: running for more than {limit} s"
        ):
            expired += 1
    if expired:
        logger.warning("expired %d stuck jobs", expired)
    return expired


def rescue_stalled_jobs(*, seconds_since_heartbeat: float | None = None) -> int:
    """Hand the jobs of workers that stopped sending heartbeats to live workers.

    Procrastinate neither retries stalled jobs nor frees their locks by itself:
    each stalled queue row goes back to `todo` (keeping its lock, which it
    will hold again when it runs) and its platform job back to pending.
    """
    seconds = (
        float(settings.JOBS["STALLED_WORKER_SECONDS"])
        if seconds_since_heartbeat is None
        else seconds_since_heartbeat
    )
    connector = procrastinate_app.connector.get_sync_connector()
    rows = connector.execute_query_all(
        query=procrastinate_sql.queries["select_stalled_jobs_by_heartbeat"],
        queue=None,
        task_name=None,
        seconds_since_heartbeat=seconds,
    )
    rescued = 0
    for row in rows:
        with transaction.atomic():
            job = (
                Job.objects.filter(procrastinate_job_id=row["id"], status=JobStatus.RUNNING)
                .only("id", "attempts")
                .first()
            )
            procrastinate_app.job_manager.retry_job_by_id(
                row["id"], retry_at=timezone.now()
            )
            if job is not None and lifecycle.job_rescue(
                job.id,
                attempt=job.attempts,
                reason="Its worker stopped responding; queued again",
            ):
                rescued += 1
    connector.execute_query_all(
        query=procrastinate_sql.queries["prune_stalled_workers"],
        seconds_since_heartbeat=seconds,
    )
    if rescued:
        logger.warning("rescued %d jobs of stalled workers", rescued)
    return rescued


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
                [lifecycle.RUN_TASK_NAME, keep_hours, batch],
            )
            deleted = cursor.rowcount
        deleted_total += deleted
        if deleted < batch:
            return deleted_total
        _pace(started, pause_ratio)
