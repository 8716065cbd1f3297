"""The wrapper every job handler runs in.

One Procrastinate task, `jobs.run`, takes a job id, moves the job to running,
gives its type's handler a `JobContext`, and moves the job to completed,
pending (a retry), cancelled or failed by what the handler did. The platform
decides retries itself (by the error's kind and the job type's policy);
Procrastinate then re-queues the job at the time it was told.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.utils import timezone
from procrastinate import JobContext as ProcrastinateContext
from procrastinate import RetryDecision
from procrastinate import exceptions as pexc
from procrastinate.contrib.django import app
from procrastinate.job_context import AbortReason
from procrastinate.jobs import Job as ProcrastinateJob
from procrastinate.retry import BaseRetryStrategy

from jobs import lifecycle, registry, tracing
from jobs.errors import JobAbort
from jobs.models import ErrorKind, Job, JobStep

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Called with (job, exception) after a job fails for good: Sentry and alerting
# hook in here (see jobs.integrations), the platform itself knows none of them.
failure_hooks: list[Callable[[Job, BaseException], None]] = []


class RetryLater(Exception):
    """Raised to Procrastinate: re-queue this job at `retry_at`."""

    def __init__(self, retry_at: dt.datetime) -> None:
        super().__init__(f"retry at {retry_at.isoformat()}")
        self.retry_at = retry_at


class PlatformRetry(BaseRetryStrategy):
    """Procrastinate retries exactly what the platform asked it to."""

    def get_retry_decision(
        self, *, exception: BaseException, job: ProcrastinateJob
    ) -> RetryDecision | None:
        if isinstance(exception, RetryLater):
            return RetryDecision(retry_at=exception.retry_at)
        return None


class JobContext:
    """What a handler gets: its job's input, progress, durable steps, abort checks."""

    def __init__(
        self, job: Job, job_type: registry.JobType, pctx: ProcrastinateContext | None
    ) -> None:
        self.job = job
        self.job_id = job.id
        self.job_type = job_type
        self.attempt = job.attempts
        self.input: dict[str, Any] = dict(job.input or {})
        self._pctx = pctx
        self._started = time.monotonic()
        self._abort_reason: str | None = None
        self.completion_writes: list[Callable[[], object]] = []
        self._stored_steps: dict[str, Any] | None = None

    @property
    def _steps(self) -> dict[str, Any]:
        # Every stored step at once, at the first step: one query per attempt,
        # not one per step, and none for a handler that has no steps.
        if self._stored_steps is None:
            self._stored_steps = {
                s.name: s.result for s in JobStep.objects.filter(job_id=self.job_id)
            }
        return self._stored_steps

    # -- progress ---------------------------------------------------------------

    def progress(self, percent: int, message: str | None = None) -> None:
        """Report progress (0-100) and a status message; stops here if told to abort."""
        job = lifecycle.job_progress(
            self.job_id, attempt=self.attempt, progress=percent, message=message
        )
        if job is None:
            self._abort_reason = "lost"  # expired, rescued elsewhere, or cancelled
        elif job.cancel_requested_at is not None:
            self._abort_reason = "cancelled"
        self.check_abort()

    # -- durable steps ---------------------------------------------------------

    def step(self, name: str, fn: Callable[[], T]) -> T:
        """Run `fn` once per job: a retry gets the stored (JSON) result back."""
        if name in self._steps:
            return self._steps[name]  # type: ignore[no-any-return]
        self.check_abort()
        started = time.monotonic()
        with tracing.step(name):
            result = fn()
        duration_ms = int((time.monotonic() - started) * 1000)
        try:
            with transaction.atomic():
                JobStep.objects.create(
                    job_id=self.job_id,
                    name=name,
                    result=result,
                    attempt=self.attempt,
                    duration_ms=duration_ms,
                )
        except IntegrityError:
            # Another attempt stored it first (a rescued worker that woke up):
            # keep one result, the first.
            stored = JobStep.objects.get(job_id=self.job_id, name=name)
            result = stored.result  # type: ignore[assignment]  # its JSON, as a retry gets
        self._steps[name] = result
        return result

    # -- completion --------------------------------------------------------------

    def on_complete(self, write: Callable[[], object]) -> None:
        """Run `write` in the transaction that marks the job completed.

        For a handler's final domain writes (a block's new content, its
        revision): they commit together with `completed`, or not at all.
        """
        self.completion_writes.append(write)

    # -- abort -----------------------------------------------------------------

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._started

    def should_abort(self) -> bool:
        if self._abort_reason is not None:
            return True
        if self._pctx is not None and self._pctx.should_abort():
            reason = self._pctx.abort_reason()
            self._abort_reason = "shutdown" if reason == AbortReason.SHUTDOWN else "cancelled"
            return True
        if self.elapsed > self.job_type.max_duration:
            self._abort_reason = "timeout"
            return True
        return False

    def check_abort(self) -> None:
        if self.should_abort():
            raise JobAbort(self._abort_reason or "aborted")

    @property
    def abort_reason(self) -> str | None:
        return self._abort_reason


def _retry_at(
    job: Job, job_type: registry.JobType, kind: str, retry_after: float | None
) -> dt.datetime | None:
    """When to retry, or None when the job must fail now."""
    policy = registry.ERROR_POLICIES.get(kind, registry.ERROR_POLICIES[ErrorKind.INTERNAL])
    if not policy.retry:
        return None
    retries_done = job.attempts - 1
    allowed = job_type.retries
    if policy.max_retries is not None:
        allowed = min(allowed, policy.max_retries)
    if retries_done >= allowed:
        return None
    delay = float(settings.JOBS["RETRY_BASE_SECONDS"]) * (2**retries_done)
    if policy.honour_retry_after and retry_after is not None:
        delay = max(delay, float(retry_after))
    return timezone.now() + dt.timedelta(seconds=delay)


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text[:2000]


def execute(job_id: str, pctx: ProcrastinateContext | None = None) -> Mapping[str, Any] | None:
    """Run one attempt of a job. Returns the output when it completed."""
    try:
        job = lifecycle.worker_job_start(job_id)
    except (OperationalError, InterfaceError):
        # A connection the database closed (a restart): Procrastinate runs the
        # attempt again in a second, on a new connection.
        connection.close()
        raise RetryLater(timezone.now() + dt.timedelta(seconds=1)) from None
    if job is None:
        # Cancelled, expired or finished before this attempt began: nothing to do.
        logger.info("job %s is not pending; skipping", job_id)
        return None
    try:
        job_type = registry.get(job.type)
    except Exception:
        lifecycle.job_fail(
            job.id,
            attempt=job.attempts,
            error=f"Unknown job type {job.type!r}",
            kind=ErrorKind.PERMANENT,
        )
        return None
    ctx = JobContext(job, job_type, pctx)
    try:
        with tracing.job_attempt(job, ctx.attempt):
            output = job_type.handler(ctx)
    except JobAbort:
        _on_abort(ctx)
        # Procrastinate records the queue row as aborted, not succeeded.
        raise pexc.JobAborted(ctx.abort_reason or "aborted") from None
    except Exception as exc:
        _on_error_reconnecting(ctx, exc)
        raise
    try:
        if not ctx.completion_writes:
            done = lifecycle.job_complete(job.id, attempt=ctx.attempt, output=output)
        else:
            done = _complete_with_writes(ctx, output)
    except Exception as exc:
        # A completion write that refuses (a PermanentJobError: what it writes to is
        # gone), or the database going away while completing: the completion rolled
        # back, and the job retries (its steps are stored) or fails like any error
        # of its handler, instead of staying `running` until it expires.
        _on_error_reconnecting(ctx, exc)
        raise
    if done is None:
        logger.warning("job %s finished after it was taken from this worker", job.id)
        return None
    return output


def _complete_with_writes(ctx: JobContext, output: Mapping[str, Any] | None) -> Job | None:
    """The handler's final writes commit with `completed`, or not at all.

    The job row is locked first: a job cancelled (or expired, or taken by
    another attempt) meanwhile changes nothing, and a cancel request that
    arrived while the handler finished wins over completion.
    """
    with transaction.atomic():
        row = (
            Job.objects.select_for_update()
            .filter(id=ctx.job_id)
            .values("status", "attempts", "cancel_requested_at")
            .first()
        )
        if row is None or row["status"] != "running" or row["attempts"] != ctx.attempt:
            return None
        if row["cancel_requested_at"] is not None:
            lifecycle.job_mark_cancelled(ctx.job_id, attempt=ctx.attempt)
            return None
        for write in ctx.completion_writes:
            write()
        return lifecycle.job_complete(ctx.job_id, attempt=ctx.attempt, output=output)


def _on_abort(ctx: JobContext) -> None:
    reason = ctx.abort_reason
    if reason == "shutdown":
        lifecycle.job_requeue(
            ctx.job_id, attempt=ctx.attempt, reason="Worker shut down; waiting for another"
        )
        raise RetryLater(timezone.now())
    if reason == "timeout":
        lifecycle.job_expire(
            ctx.job_id,
            reason=(
                f"Expired: ran longer than the {ctx.job_type.max_duration} s "
                f"allowed for {ctx.job_type.name}"
            ),
        )
        return None
    if reason == "cancelled":
        lifecycle.job_mark_cancelled(ctx.job_id, attempt=ctx.attempt)
    return None


def _on_error_reconnecting(ctx: JobContext, exc: Exception, wait: float = 120.0) -> None:
    """`_on_error`, surviving a database restart: the connection the handler used
    may be gone, and the transition that hands the job back must still be written
    (else the job stays `running` under a live worker that no rescue looks at)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return _on_error(ctx, exc)
        except (OperationalError, InterfaceError):
            if time.monotonic() > deadline:
                raise
            logger.warning("job %s: database unreachable; retrying its transition", ctx.job_id)
            connection.close()  # the next query opens a new connection
            time.sleep(0.5)


def _on_error(ctx: JobContext, exc: Exception) -> None:
    kind, retry_after = registry.classify(exc)
    job = ctx.job
    retry_at = _retry_at(job, ctx.job_type, kind, retry_after)
    message = _describe(exc)
    if retry_at is not None:
        if lifecycle.job_schedule_retry(
            job.id, attempt=ctx.attempt, error=message, kind=kind, retry_at=retry_at
        ):
            raise RetryLater(retry_at) from exc
        return
    if job.attempts > 1:
        message = f"Failed after {job.attempts - 1} retries: {message}"
    failed = lifecycle.job_fail(job.id, attempt=ctx.attempt, error=message, kind=kind)
    if failed is not None:
        for hook in failure_hooks:
            try:
                hook(failed, exc)
            except Exception:  # a broken hook must not hide the job's own failure
                logger.exception("job failure hook %r failed", hook)


@app.task(name=lifecycle.RUN_TASK_NAME, pass_context=True, retry=PlatformRetry())
def run_job(context: ProcrastinateContext, *, job_id: str) -> None:
    """The Procrastinate task behind every job type."""
    execute(job_id, context)
