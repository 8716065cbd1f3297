"""Run logs for scheduled and batch runs (the warmup seed's job logger).

    log = run_log_start(job_type="warmup-forecasts", job=ctx.job, metadata={...})
    ... run_log_count(log, ok=True) / run_log_count(log, ok=False, error="...")
    run_log_finish(log, status=RunLog.Status.SUCCESS)

Counts are kept on the instance and written at finish (and by
`run_log_flush`), so a run of fifty items costs two writes, not fifty.
"""

from __future__ import annotations

import time
from typing import Any

from django.utils import timezone

from jobs.models import Job, RunLog


def run_log_start(
    *, job_type: str, job: Job | None = None, metadata: dict[str, Any] | None = None
) -> RunLog:
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
