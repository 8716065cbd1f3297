"""Run logs for scheduled and batch runs (the warmup seed's job logger).

    with run_log(job_type="warmup-forecasts", job=ctx.job, metadata={...}) as log:
        ... run_log_count(log, ok=True) / run_log_count(log, ok=False, error="...")

`run_log` finishes the log `success` when the block ends (or with the status the
block set, such as `skipped`), `failed` when it raises: the exception's message
is kept in the errors, and a JobAbort (cancelled, expired) marks it `aborted`.
`run_log_start` / `run_log_finish` are the same two steps, for runs that need
them apart.

Counts are kept on the instance and written at finish (and by
`run_log_flush`), so a run of fifty items costs two writes, not fifty.

A run's log is finished by the run itself (in its `finally`). A worker that
is killed never gets there, so its log would stay `running` for ever:

- `run_log_start(job=...)` first closes the same job's earlier `running`
  logs as `failed` ("worker lost"): a rescued attempt starting again proves
  the earlier attempt is gone;
- `run_logs_sweep()` does the same for `running` logs whose job is no longer
  running (rescued and waiting, or finished by the platform) or runs another
  attempt; the periodic `jobs.maintenance.rescue` task calls it after each rescue.

A log started for a job carries the attempt's fencing token (`attempt_token`,
the job's `procrastinate_job_id` when the attempt began). Every write of the
log is conditional: it changes nothing once the log is no longer `running`
(the sweep's "worker lost" stays) or the job has moved to another attempt, and
an attempt that starts a log after losing its job gets an unsaved log whose
writes do nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from jobs.errors import JobAbort
from jobs.models import Job, JobStatus, RunLog

WORKER_LOST = "worker lost"


def _fail_lost(rows: Any) -> int:
    """Close `running` logs as failed "worker lost", with finished_at and duration (the
    error is appended when there is room, like any other run-level error)."""
    now = timezone.now()
    closed = 0
    for log in rows.filter(status=RunLog.Status.RUNNING).only(
            "id", "errors", "metadata", "started_at"):
        errors = list(log.errors or [])
        if len(errors) < RunLog.MAX_ERRORS:
            errors.append(WORKER_LOST)
        metadata = {**(log.metadata or {}), "stopped": WORKER_LOST}
        duration = max(0, int((now - log.started_at).total_seconds() * 1000))
        # Only while still running: a run that finished meanwhile keeps its own result.
        closed += RunLog.objects.filter(id=log.id, status=RunLog.Status.RUNNING).update(
            status=RunLog.Status.FAILED, finished_at=now, errors=errors,
            metadata=metadata, duration_ms=duration)
    return closed


def run_logs_sweep() -> int:
    """Fail the `running` logs of jobs that are no longer running; returns how many.

    A log is written only by a running job, so a `running` log whose job is
    pending again (rescued after its worker died) or finished belongs to an
    attempt that will never finish it. Logs started without a job are left
    alone: nothing says whether their run is alive. The run log table has one
    row per scheduled or batch run (not per job), so this stays small.
    """
    current = Q(job__status=JobStatus.RUNNING) & (
        Q(attempt_token__isnull=True) | Q(job__procrastinate_job_id=F("attempt_token"))
    )
    return _fail_lost(RunLog.objects.filter(job__isnull=False).exclude(current))


def _writable(log: RunLog) -> Any:
    """The log's row, if this attempt may still write it: running, and its job
    (if any) still on the attempt that started it."""
    rows = RunLog.objects.filter(id=log.id, status=RunLog.Status.RUNNING)
    if log.attempt_token is not None:
        rows = rows.filter(job__procrastinate_job_id=log.attempt_token)
    return rows


def run_log_start(
    *, job_type: str, job: Job | None = None, metadata: dict[str, Any] | None = None
) -> RunLog:
    if job is None:
        log = RunLog.objects.create(job=job, job_type=job_type, metadata=dict(metadata or {}))
        log._t0 = time.monotonic()  # type: ignore[attr-defined]
        return log
    token = job.procrastinate_job_id
    with transaction.atomic():
        current = (
            Job.objects.select_for_update()
            .filter(id=job.pk)
            .values_list("procrastinate_job_id", flat=True)
            .first()
        )
        if current is None or current != token:
            # This attempt has lost its job: a log that is never saved.
            log = RunLog(job_type=job_type, metadata=dict(metadata or {}), attempt_token=token)
        else:
            # This job's earlier attempts that left a log `running` were lost
            # with their worker.
            _fail_lost(RunLog.objects.filter(job=job))
            log = RunLog.objects.create(
                job=job, job_type=job_type, metadata=dict(metadata or {}), attempt_token=token
            )
    log._t0 = time.monotonic()  # type: ignore[attr-defined]
    return log


def run_log_count(log: RunLog, *, ok: bool, error: str | None = None) -> None:
    if ok:
        log.processed += 1
        return
    log.failed += 1
    if error and len(log.errors) < RunLog.MAX_ERRORS:
        log.errors.append(error[:500])


def run_log_flush(log: RunLog) -> bool:
    """Write the counts so far; False when the log is no longer this run's."""
    log.duration_ms = _elapsed_ms(log)
    if log.pk is None:
        return False
    return bool(_writable(log).update(
        processed=log.processed, failed=log.failed, errors=log.errors,
        duration_ms=log.duration_ms, metadata=log.metadata))


def run_log_finish(
    log: RunLog, *, status: str, metadata: dict[str, Any] | None = None
) -> RunLog:
    """Finish the log, only while it is still `running` and its attempt current:
    a late attempt does not overwrite the sweep's "worker lost"."""
    if metadata:
        log.metadata.update(metadata)
    log.status = status
    log.finished_at = timezone.now()
    log.duration_ms = _elapsed_ms(log)
    if log.pk is None:
        return log
    written = _writable(log).update(
        status=status, finished_at=log.finished_at, duration_ms=log.duration_ms,
        processed=log.processed, failed=log.failed, errors=log.errors, metadata=log.metadata)
    if not written:
        log.refresh_from_db()  # what the log says: the sweep's, or the current attempt's
    return log


def _elapsed_ms(log: RunLog) -> int:
    started = getattr(log, "_t0", None)
    if started is None:
        return int((timezone.now() - log.started_at).total_seconds() * 1000)
    return int((time.monotonic() - started) * 1000)


def _finish_raised(log: RunLog, exc: BaseException) -> None:
    """Finish the log of a block that raised `exc` (aborted, or failed with its message)."""
    if isinstance(exc, JobAbort):
        run_log_finish(log, status=RunLog.Status.FAILED, metadata={"aborted": True})
        return
    message = str(exc)[:500]
    # Not twice: a run may have noted it before raising ("<item>: <message>").
    noted = any(str(e).endswith(message) for e in log.errors)
    if not noted and len(log.errors) < RunLog.MAX_ERRORS:
        log.errors.append(message)
    run_log_finish(log, status=RunLog.Status.FAILED)


def _finish_ended(log: RunLog) -> None:
    status = log.status if log.status != RunLog.Status.RUNNING else RunLog.Status.SUCCESS
    run_log_finish(log, status=status)


@contextmanager
def run_log(
    *, job_type: str, job: Job | None = None, metadata: dict[str, Any] | None = None
) -> Iterator[RunLog]:
    """One run's log around a block: see the module's docstring."""
    log = run_log_start(job_type=job_type, job=job, metadata=metadata)
    try:
        yield log
    except BaseException as exc:
        _finish_raised(log, exc)
        raise
    _finish_ended(log)


@asynccontextmanager
async def arun_log(
    *, job_type: str, job: Job | None = None, metadata: dict[str, Any] | None = None
) -> AsyncIterator[RunLog]:
    """`run_log` for async handlers: its writes on the worker's database pool (jobs.aio).

        async with arun_log(job_type="themes.scan", job=ctx.job) as log:
            ...

    A handler cancelled mid-await (an abort, the deadline) finishes the log
    `failed` with the cancellation, as a sync run's JobAbort does.
    """
    from jobs import aio

    log = await aio.db(run_log_start, job_type=job_type, job=job, metadata=metadata)
    try:
        yield log
    except asyncio.CancelledError:
        await asyncio.shield(aio.db(_finish_raised, log, JobAbort("cancelled")))
        raise
    except BaseException as exc:
        await aio.db(_finish_raised, log, exc)
        raise
    await aio.db(_finish_ended, log)
