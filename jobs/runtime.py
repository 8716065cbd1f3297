"""The wrapper every job handler runs in.

One Procrastinate task, `jobs.run`, takes a job id, moves the job to running,
gives its type's handler a `JobContext`, and moves the job to completed,
pending (a retry), cancelled or failed by what the handler did. The platform
decides retries itself (by the error's kind and the job type's policy);
Procrastinate then re-queues the job at the time it was told.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone
from procrastinate import JobContext as ProcrastinateContext
from procrastinate import RetryDecision
from procrastinate import exceptions as pexc
from procrastinate.contrib.django import app
from procrastinate.job_context import AbortReason
from procrastinate.jobs import Job as ProcrastinateJob
from procrastinate.retry import BaseRetryStrategy

from jobs import jobsql, lifecycle, registry, tracing
from jobs.errors import JobAbort, UnknownJobType
from jobs.models import ErrorKind, Job, JobStatus, JobStep

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
        # The attempt's fencing token: the id of the Procrastinate row it runs
        # as. Every write below carries it and changes nothing once the job has
        # moved on to another attempt (rescued, expired and retried).
        self.token: int | None = job.procrastinate_job_id
        self.input: dict[str, Any] = dict(job.input or {})
        self._pctx = pctx
        self._started = time.monotonic()
        self._abort_reason: str | None = None
        self.completion_writes: list[Callable[[], object]] = []

    def is_current(self) -> bool:
        """Whether this attempt still owns its running job (one query)."""
        return Job.objects.filter(
            id=self.job_id, status="running", procrastinate_job_id=self.token,
            attempts=self.attempt,
        ).exists()

    def landed(self, status: str) -> Job | None:
        """The job, if it is in `status` on this very attempt: a transition of this
        attempt whose reply was lost (a database restart) did happen. Nobody but
        this attempt moves a job from its running attempt to a status that keeps
        its token and attempt number."""
        return Job.objects.filter(
            id=self.job_id, status=status, procrastinate_job_id=self.token,
            attempts=self.attempt,
        ).first()

    def _lost(self) -> None:
        self._abort_reason = "lost"  # expired, rescued elsewhere, or cancelled
        raise JobAbort("lost")

    # -- progress ---------------------------------------------------------------

    def progress(self, percent: int, message: str | None = None) -> None:
        """Report progress (0-100) and a status message; stops here if told to abort."""
        job = lifecycle.job_progress(
            self.job_id,
            attempt=self.attempt,
            token=self.token,
            progress=percent,
            message=message,
        )
        if job is None:
            self._abort_reason = "lost"  # expired, rescued elsewhere, or cancelled
        elif job.cancel_requested_at is not None:
            self._abort_reason = "cancelled"
        self._raise_if_aborted()

    # -- durable steps ---------------------------------------------------------

    def step(self, name: str, fn: Callable[[], T]) -> T:
        """Run `fn` once per job: a retry gets the stored (JSON) result back.

        Before running `fn`, one query checks both that the step is not stored
        yet and that this attempt still owns the job: an attempt that lost its
        job (frozen, then resumed after a rescue) stops here instead of running
        a step the current attempt may have done. Its result is stored only if
        the attempt is still current, in the same statement.
        """
        self._raise_if_aborted()
        found, stored = self._step_lookup(name)
        if found:
            return stored  # type: ignore[no-any-return]
        started = time.monotonic()
        with tracing.step(name):
            result = fn()
        return self._step_store(name, result, int((time.monotonic() - started) * 1000))

    def _step_lookup(self, name: str) -> tuple[bool, Any]:
        """(stored?, its result); JobAbort("lost") when this attempt lost the job."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT j.status = 'running' AND j.procrastinate_job_id IS NOT DISTINCT FROM %s"
                " AND j.attempts = %s, s.result::text, s.name IS NOT NULL"
                " FROM jobs_job j LEFT JOIN jobs_jobstep s ON s.job_id = j.id AND s.name = %s"
                " WHERE j.id = %s",
                [self.token, self.attempt, name, str(self.job_id)],
            )
            row = cursor.fetchone()
        if row is None or not row[0]:
            self._lost()
        if row[2]:
            return True, (None if row[1] is None else json.loads(row[1]))
        return False, None

    def _step_store(self, name: str, result: Any, duration_ms: int) -> Any:
        """Store a step's result if this attempt is still current; the result kept."""
        with connection.cursor() as cursor:
            cursor.execute(
                "WITH cur AS (SELECT id FROM jobs_job WHERE id = %s AND status = 'running'"
                "  AND procrastinate_job_id IS NOT DISTINCT FROM %s AND attempts = %s FOR SHARE)"
                " INSERT INTO jobs_jobstep (job_id, name, result, attempt, duration_ms, created_at)"
                " SELECT id, %s, %s::jsonb, %s, %s, now() FROM cur"
                " ON CONFLICT (job_id, name) DO NOTHING RETURNING 1",
                [str(self.job_id), self.token, self.attempt, name,
                 json.dumps(result), self.attempt, duration_ms],
            )
            stored = cursor.fetchone() is not None
        if not stored:
            current = self.is_current()
            if not current:
                self._lost()
            # Stored by another attempt first (cannot happen while this one is
            # current, but keep one result, the first).
            return JobStep.objects.get(job_id=self.job_id, name=name).result  # type: ignore[no-any-return]
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
        self._raise_if_aborted()

    def _raise_if_aborted(self) -> None:
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
    job = start_attempt(job_id, pctx)
    if job is None:
        return None
    job_type = job_type_of(job)
    if job_type is None:
        return None
    return execute_started(job, job_type, pctx)


def start_attempt(job_id: str, pctx: ProcrastinateContext | None) -> Job | None:
    """Move the job to running for this attempt; None when there is nothing to run."""
    # The attempt's token: the Procrastinate row this worker took. A row the
    # job has moved on from (rescued while this worker was frozen) starts nothing.
    token = pctx.job.id if pctx is not None and pctx.job is not None else None
    try:
        job = lifecycle.worker_job_start(job_id, token)
    except (OperationalError, InterfaceError):
        # A connection the database closed (a restart): Procrastinate runs the
        # attempt again in a second, on a new connection.
        connection.close()
        raise RetryLater(timezone.now() + dt.timedelta(seconds=1)) from None
    if job is None:
        # Cancelled, expired or finished before this attempt began, or no longer
        # this queue row's (rescued onto a new one): nothing to do.
        logger.info("job %s is not pending for queue row %s; skipping", job_id, token)
        return None
    return job


def job_type_of(job: Job) -> registry.JobType | None:
    """The job's type; an unknown one fails the job (None)."""
    try:
        return registry.get(job.type)
    except UnknownJobType:
        lifecycle.job_fail(
            job.id,
            attempt=job.attempts,
            token=job.procrastinate_job_id,
            error=f"Unknown job type {job.type!r}",
            kind=ErrorKind.PERMANENT,
        )
        return None


def execute_started(
    job: Job, job_type: registry.JobType, pctx: ProcrastinateContext | None
) -> Mapping[str, Any] | None:
    """Run a started attempt's sync handler and move the job on by its outcome."""
    ctx = JobContext(job, job_type, pctx)
    try:
        with tracing.job_attempt(job, ctx.attempt):
            output = job_type.handler_for(ctx.input)(ctx)
    except JobAbort:
        _on_abort(ctx)
        # Procrastinate records the queue row as aborted, not succeeded.
        raise pexc.JobAborted(ctx.abort_reason or "aborted") from None
    except Exception as exc:
        _on_error_reconnecting(ctx, exc)
        raise
    return finish(ctx, output)


def finish(ctx: JobContext, output: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """Complete the attempt with `output` (and its completion writes), or hand it back."""
    job = ctx.job
    try:
        if not ctx.completion_writes:
            # No health-check round trip: on a sync handler's thread, Procrastinate's
            # clean-up asks for one before every job.
            done = jobsql.on_live_connection(
                lifecycle.job_complete, job.id, attempt=ctx.attempt, token=ctx.token,
                output=output,
            )
        else:
            done = _complete_with_writes(ctx, output)
    except Exception as exc:
        # A completion write that refuses (a PermanentJobError: what it writes to is
        # gone), or the database going away while completing: the completion rolled
        # back, and the job retries (its steps are stored) or fails like any error
        # of its handler, instead of staying `running` until it expires. Unless
        # only its reply was lost: then the job did complete.
        if _completed_after_all(ctx, exc):
            return output
        _on_error_reconnecting(ctx, exc)
        raise
    if done is None:
        logger.warning("job %s finished after it was taken from this worker", job.id)
        return None
    return output


def _completed_after_all(ctx: JobContext, exc: Exception, wait: float = 120.0) -> bool:
    """After a connection error while completing: whether the completion had
    committed (its reply lost), looked up once the database answers again."""
    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    deadline = time.monotonic() + wait
    while True:
        try:
            return ctx.landed("completed") is not None
        except (OperationalError, InterfaceError):
            if time.monotonic() > deadline:
                return False
            connection.close()
            time.sleep(0.5)


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
            .values("status", "attempts", "procrastinate_job_id", "cancel_requested_at")
            .first()
        )
        if (
            row is None
            or row["status"] != "running"
            or row["attempts"] != ctx.attempt
            or row["procrastinate_job_id"] != ctx.token
        ):
            return None
        if row["cancel_requested_at"] is not None:
            lifecycle.job_mark_cancelled(ctx.job_id, attempt=ctx.attempt, token=ctx.token)
            return None
        for write in ctx.completion_writes:
            write()
        return lifecycle.job_complete(
            ctx.job_id, attempt=ctx.attempt, token=ctx.token, output=output
        )


def _on_abort(ctx: JobContext) -> None:
    reason = ctx.abort_reason
    if reason == "shutdown":
        if lifecycle.job_requeue(
            ctx.job_id,
            attempt=ctx.attempt,
            token=ctx.token,
            reason="Worker shut down; waiting for another",
        ) or ctx.landed("pending"):
            raise RetryLater(timezone.now())
        return None  # no longer this attempt's job: its queue row just ends
    if reason == "timeout":
        lifecycle.job_expire(
            ctx.job_id,
            token=ctx.token,
            attempt=ctx.attempt,
            from_statuses=[JobStatus.RUNNING],
            reason=(
                f"Expired: ran longer than the {ctx.job_type.max_duration} s "
                f"allowed for {ctx.job_type.name}"
            ),
        )
        return None
    if reason == "cancelled":
        lifecycle.job_mark_cancelled(ctx.job_id, attempt=ctx.attempt, token=ctx.token)
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
            job.id,
            attempt=ctx.attempt,
            token=ctx.token,
            error=message,
            kind=kind,
            retry_at=retry_at,
        ):
            raise RetryLater(retry_at) from exc
        # Written before, its reply lost to a database restart (this is the
        # second try): the queue row must be retried too, or the job waits
        # `pending` for a row that has ended.
        landed = ctx.landed("pending")
        if landed is not None:
            raise RetryLater(max(landed.available_at, timezone.now())) from exc
        return
    if job.attempts > 1:
        message = f"Failed after {job.attempts - 1} retries: {message}"
    failed = lifecycle.job_fail(
        job.id, attempt=ctx.attempt, token=ctx.token, error=message, kind=kind
    )
    if failed is not None:
        for hook in failure_hooks:
            try:
                hook(failed, exc)
            except Exception:  # a broken hook must not hide the job's own failure
                logger.exception("job failure hook %r failed", hook)


@app.task(name=jobsql.RUN_TASK_NAME, pass_context=True, retry=PlatformRetry())
async def run_job(context: ProcrastinateContext, *, job_id: str) -> None:
    """The Procrastinate task behind every job type: an async handler runs on the
    worker's event loop, a sync one on its thread pool (see jobs.aruntime)."""
    from jobs import aruntime

    await aruntime.run(job_id, context)
