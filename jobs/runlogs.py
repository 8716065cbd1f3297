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
  running (rescued and waiting, or finished by the platform); the periodic
  `jobs.maintenance.rescue` task calls it after each rescue.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

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
    return _fail_lost(RunLog.objects.filter(job__isnull=False).exclude(
        job__status=JobStatus.RUNNING))


def run_log_start(
    *, job_type: str, job: Job | None = None, metadata: dict[str, Any] | None = None
) -> RunLog:
    if job is not None:
        # This job's earlier attempts that left a log `running` were lost with their worker.
        _fail_lost(RunLog.objects.filter(job=job))
    log = RunLog.objects.create(job=job, job_type=job_type, metadata=dict(metadata or {}))
    log._t0 = time.monotonic()  # type: ignore[attr-defined]
    return log


def run_log_count(log: RunLog, *, ok: bool, error: str | None = None) -> None:
    if ok:
        log.processed += 1
        return
    log.failed += 1
    if error and len(log.errors) < RunLog.MAX_ERRORS:
        log.errors.append(error[:500])


def run_log_flush(log: RunLog) -> None:
    log.duration_ms = _elapsed_ms(log)
    log.save(update_fields=["processed", "failed", "errors", "duration_ms", "metadata"])


def run_log_finish(
    log: RunLog, *, status: str, metadata: dict[str, Any] | None = None
) -> RunLog:
    if metadata:
        log.metadata.update(metadata)
    log.status = status
    log.finished_at = timezone.now()
    log.duration_ms = _elapsed_ms(log)
    log.save()
    return log


def _elapsed_ms(log: RunLog) -> int:
    started = getattr(log, "_t0", None)
    if started is None:
        return int((timezone.now() - log.started_at).total_seconds() * 1000)
    return int((time.monotonic() - started) * 1000)


@contextmanager
def run_log(
    *, job_type: str, job: Job | None = None, metadata: dict[str, Any] | None = None
) -> Iterator[RunLog]:
    """One run's log around a block: see the module's docstring."""
    log = run_log_start(job_type=job_type, job=job, metadata=metadata)
    try:
        yield log
    except JobAbort:
        run_log_finish(log, status=RunLog.Status.FAILED, metadata={"aborted": True})
        raise
    except BaseException as exc:
        message = str(exc)[:500]
        # Not twice: a run may have noted it before raising ("<item>: <message>").
        noted = any(str(e).endswith(message) for e in log.errors)
        if not noted and len(log.errors) < RunLog.MAX_ERRORS:
            log.errors.append(message)
        run_log_finish(log, status=RunLog.Status.FAILED)
        raise
    status = log.status if log.status != RunLog.Status.RUNNING else RunLog.Status.SUCCESS
    run_log_finish(log, status=status)
