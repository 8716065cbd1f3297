"""Every change of a job's status, and nothing else, lives here.

Each transition is one conditional UPDATE (`WHERE status IN (...)`, and for the
worker's own writes `AND procrastinate_job_id = <its token> AND attempts =
<its attempt>`, so a worker that lost its job cannot overwrite it), then one
`JobEvent` and one `pg_notify`, in one statement (`jobs/jobsql.py` writes it).
The UPDATE's row count says whether the transition happened.

The attempt's fencing token is the id of its own Procrastinate row: every
attempt that is not a retry the attempt itself asked for (the first run, a
rescue, a staff or API retry) is deferred as a new Procrastinate row, and the
`Job` records that row's id as `procrastinate_job_id`. Row ids come from a
sequence, so the token only grows for the life of the job; an attempt whose
token is no longer the job's changes nothing (see the README, "Attempts are
fenced").
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from jobs import jobsql, limits, registry, tracing
from jobs.errors import InvalidTransition, JobAlreadyQueued
from jobs.jobsql import NOTIFY_CHANNEL, JobId, Transition  # noqa: F401  (realtime: the channel)
from jobs.models import ErrorKind, Job, JobEvent, JobStatus, Organization

logger = logging.getLogger(__name__)

ACTIVE = (JobStatus.PENDING, JobStatus.RUNNING)

_transition = jobsql.transition


def _now() -> dt.datetime:
    return timezone.now()


def _job(result: Transition | None) -> Job | None:
    return None if result is None else result.job


def worker_job_start(job_id: JobId, token: int | None = None) -> Job | None:
    """`job_start` for the worker, without a health-check round trip per job
    (see `jobsql.on_live_connection`)."""
    return jobsql.on_live_connection(job_start, job_id, token)


# --- Creation ------------------------------------------------------------------


def _defer(
    job: Job,
    job_type: registry.JobType,
    *,
    queue: str | None = None,
    priority: int = 0,
    schedule_at: dt.datetime | None = None,
    rescue: bool = False,
) -> int:
    """A new Procrastinate row for the job (its new attempt's token); `rescue`: an
    admitted job keeps its row even if another took its queueing lock meanwhile."""
    try:
        return jobsql.defer_row(
            job.id,
            queue=queue or job_type.queue,
            lock=job_type.lock(job.input, job.scope) if job_type.lock else None,
            queueing_lock=(
                job_type.queueing_lock(job.input, job.scope) if job_type.queueing_lock else None
            ),
            priority=priority,
            schedule_at=schedule_at,
            keep_if_queueing_lock_taken=rescue,
        )
    except jobsql.QueueingLockTaken as exc:
        raise JobAlreadyQueued(
            f"A {job_type.name} job for this {job.scope or 'scope'} is already queued."
        ) from exc


def job_create(
    *,
    job_type: str,
    input: Mapping[str, Any] | None = None,
    organization: Organization | None = None,
    user: Any = None,
    decision_id: Any = None,
    scope: str = "",
    source: str = "api",
    enforce_limits: bool = True,
    queue: str | None = None,
    priority: int = 0,
    run_after: dt.datetime | None = None,
) -> Job:
    """Create a job and queue it, in one transaction.

    Every entrance comes through here, so here the type checks its input and
    scope (`JobType.prepare`): InvalidJobInput or InvalidJobScope refuse it.
    Raises AdmissionRefused over a limit and JobAlreadyQueued on a queueing
    lock; in all these cases nothing is written. `queue` (default: the type's),
    `priority` (higher runs first) and `run_after` (not before) go to the
    Procrastinate job; a job deferred to `run_after` counts its pending time
    from then.
    """
    jt = registry.get(job_type)
    input = jt.prepare(input=input, organization=organization, decision_id=decision_id)
    job = Job(
        type=jt.name,
        input=input,
        organization=organization,
        user=user if getattr(user, "pk", None) else None,
        decision_id=decision_id,
        scope=scope,
        source=source,
        max_attempts=jt.retries + 1,
        status=JobStatus.PENDING,
        trace_context=tracing.current_carrier(),
    )
    with transaction.atomic():
        if enforce_limits and organization is not None:
            limits.admit(
                organization_id=organization.pk,
                user_id=job.user_id,
                decision_id=decision_id,
            )
        job.procrastinate_job_id = _defer(
            job, jt, queue=queue, priority=priority, schedule_at=run_after
        )
        job.save(force_insert=True)
        if run_after is not None:
            # available_at is auto_now_add: the pending-expiry clock starts at run_after.
            Job.objects.filter(pk=job.pk).update(available_at=run_after)
            job.available_at = run_after
        jobsql.record_event(
            job, kind=JobEvent.Kind.CREATED, from_status="", actor=_actor(user, source)
        )
    return job


def job_validate_input(*, job_type: str, input: Mapping[str, Any] | None) -> dict[str, Any]:
    """The validated input for a type (InvalidJobInput if not), for a caller that
    wants it before `job_create` (which validates again)."""
    return registry.get(job_type).validate_input(input)


def _actor(user: Any, fallback: str = "system") -> str:
    if getattr(user, "pk", None):
        return str(user.get_username())
    return fallback


# --- The worker's transitions ------------------------------------------------


def _own(
    job_id: JobId, *, attempt: int, token: int | None, kind: str, **options: Any
) -> Job | None:
    """A transition of a running job by the attempt that owns it (else None)."""
    options.update(attempt=attempt, token=token, kind=kind)
    return _job(_transition(job_id, from_statuses=[JobStatus.RUNNING], **options))


def job_start(job_id: JobId, token: int | None = None) -> Job | None:
    """pending -> running, for a new attempt. None if the job is not pending, or
    when `token` (the Procrastinate row the worker took) is no longer the job's.

    With a token, a job already `running` on that same token starts again as
    the next attempt: only the worker holding the row can start it, so the
    earlier run on the row is over (its start's reply was lost to a database
    restart, or it handed the row back before its handler began). Without
    this, such a job stayed `running` under no worker until it expired. A new
    attempt starts with no partial output.
    """
    started = _transition(
        job_id,
        from_statuses=[JobStatus.PENDING] if token is None else ACTIVE,
        token=token,
        kind=JobEvent.Kind.STARTED,
        sets={
            "status": JobStatus.RUNNING, "started_at": _now(), "status_message": "Running",
            "partial_output": "",
        },
        raw_sets=[
            "attempts = attempts + 1",
            "cancel_requested_at = CASE WHEN j.status = 'pending' THEN NULL"
            " ELSE j.cancel_requested_at END",
        ],
        prepare=True,  # durable: see jobsql.transition
    )
    return _job(started)


def job_progress(
    job_id: JobId, *, attempt: int, progress: int, message: str | None = None,
    token: int | None = None,
) -> Job | None:
    """Record progress. None when the attempt no longer owns a running job."""
    sets: dict[str, Any] = {"progress": max(0, min(100, int(progress)))}
    if message is not None:
        sets["status_message"] = message[:255]
    return _own(
        job_id, attempt=attempt, token=token, kind=JobEvent.Kind.PROGRESS, sets=sets,
        message=message or "", flush_later=True,
    )


def job_partial_output(
    job_id: JobId, *, attempt: int, text: str, token: int | None = None
) -> Job | None:
    """Record the output written so far (one event, one NOTIFY). None when the
    attempt no longer owns a running job. Callers coalesce: a few a second."""
    return _own(
        job_id, attempt=attempt, token=token, kind=JobEvent.Kind.OUTPUT,
        sets={"partial_output": text}, flush_later=True,
    )


def job_complete(
    job_id: JobId, *, attempt: int, output: Mapping[str, Any] | None, token: int | None = None
) -> Job | None:
    """running -> completed with `output`, written once; the partial output, a
    draft of it, is cleared (README, "Tokens as they are written")."""
    return _own(
        job_id, attempt=attempt, token=token, kind=JobEvent.Kind.COMPLETED,
        sets={
            "status": JobStatus.COMPLETED, "progress": 100, "output": dict(output or {}),
            "partial_output": "", "completed_at": _now(), "status_message": "Completed",
            "error": "", "error_kind": "",
        },
        prepare=True,  # durable: see jobsql.transition
    )


def job_schedule_retry(
    job_id: JobId, *, attempt: int, error: str, kind: str, retry_at: dt.datetime,
    token: int | None = None,
) -> Job | None:
    """running -> pending after a retryable error; Procrastinate re-runs it at retry_at."""
    return _own(
        job_id, attempt=attempt, token=token, kind=JobEvent.Kind.RETRY_SCHEDULED,
        sets={
            "status": JobStatus.PENDING, "available_at": retry_at,
            "error": error, "error_kind": kind,
            "status_message": f"Retrying after error: {error}"[:255],
        },
        message=error,
        data={"retry_at": retry_at.isoformat(), "error_kind": kind},
    )


def job_fail(
    job_id: JobId, *, attempt: int | None, error: str, kind: str, actor: str = "worker",
    token: int | None = None,
) -> Job | None:
    """-> failed; `attempt` None: whichever attempt is active (staff, maintenance)."""
    return _job(
        _transition(
            job_id,
            from_statuses=[JobStatus.RUNNING] if attempt is not None else ACTIVE,
            attempt=attempt,
            token=token,
            kind=JobEvent.Kind.FAILED,
            sets={
                "status": JobStatus.FAILED, "error": error, "error_kind": kind,
                "completed_at": _now(), "status_message": "Failed",
            },
            message=error,
            data={"error_kind": kind},
            actor=actor,
        )
    )


def job_mark_cancelled(job_id: JobId, *, attempt: int, token: int | None = None) -> Job | None:
    """A running job's handler noticed its abort request and stopped."""
    return _own(
        job_id, attempt=attempt, token=token, kind=JobEvent.Kind.CANCELLED,
        sets={"status": JobStatus.CANCELLED, "completed_at": _now(), "status_message": "Cancelled"},
        actor="worker",
    )


def job_requeue(
    job_id: JobId, *, attempt: int, reason: str, token: int | None = None
) -> Job | None:
    """running -> pending when the worker shuts down before the job ends."""
    return _own(
        job_id, attempt=attempt, token=token, kind=JobEvent.Kind.REQUEUED,
        sets={"status": JobStatus.PENDING, "available_at": _now(), "status_message": reason[:255]},
        message=reason, actor="worker",
    )


# --- People's and maintenance's transitions ---------------------------------


def job_cancel(job_id: JobId, *, actor: str = "system") -> Job:
    """Cancel: a pending job at once; a running one is asked to stop.

    Raises InvalidTransition for a job that has already finished.
    """
    with transaction.atomic():
        pending = _transition(
            job_id,
            from_statuses=[JobStatus.PENDING],
            kind=JobEvent.Kind.CANCELLED,
            sets={
                "status": JobStatus.CANCELLED,
                "completed_at": _now(),
                "status_message": "Cancelled",
            },
            actor=actor,
        )
        if pending is not None:
            jobsql.cancel_queue_row(pending.job.procrastinate_job_id, abort=False)
            return pending.job
        running = _transition(
            job_id,
            from_statuses=[JobStatus.RUNNING],
            kind=JobEvent.Kind.CANCEL_REQUESTED,
            sets={"status_message": "Cancelling..."},
            raw_sets=["cancel_requested_at = COALESCE(cancel_requested_at, now())"],
            actor=actor,
        )
        if running is not None:
            # Procrastinate's abort flag reaches the worker's abort poll, so the
            # handler's next should_abort() sees it without reading our row.
            jobsql.cancel_queue_row(running.job.procrastinate_job_id, abort=True)
            return running.job
    current = Job.objects.filter(id=job_id).values_list("status", flat=True).first()
    raise InvalidTransition(f"Job is already {current}; only active jobs can be cancelled.")


def job_retry(job_id: JobId, *, actor: str = "system", enforce_limits: bool = True) -> Job:
    """Re-run a failed or cancelled job: back to pending with a new queue entry.

    Completed steps keep their results, so the re-run resumes after them.
    """
    with transaction.atomic():
        current = Job.objects.select_for_update().filter(id=job_id).first()
        if current is None:
            raise InvalidTransition("Job not found.")
        if current.status not in (JobStatus.FAILED, JobStatus.CANCELLED):
            raise InvalidTransition(
                f"Job is {current.status}; only failed or cancelled jobs can be retried."
            )
        if enforce_limits and current.organization_id is not None:
            limits.admit(
                organization_id=current.organization_id,
                user_id=current.user_id,
                decision_id=current.decision_id,
            )
        jt = registry.get(current.type)
        options = jt.retry_defer_options(current.input) if jt.retry_defer_options else {}
        pid = _defer(current, jt, **options)
        retried = _transition(
            job_id,
            from_statuses=[JobStatus.FAILED, JobStatus.CANCELLED],
            kind=JobEvent.Kind.RETRIED,
            sets={
                "status": JobStatus.PENDING,
                "progress": 0,
                "attempts": 0,
                "error": "",
                "error_kind": "",
                "output": None,
                "completed_at": None,
                "started_at": None,
                "cancel_requested_at": None,
                "available_at": _now(),
                "procrastinate_job_id": pid,
                "status_message": "Queued for retry",
            },
            actor=actor,
        )
        assert retried is not None  # the row is locked above
    return retried.job


def job_expire(
    job_id: JobId,
    *,
    reason: str,
    token: int | None = None,
    attempt: int | None = None,
    from_statuses: Iterable[str] = ACTIVE,
) -> Job | None:
    """An active job past its time fails as expired; a running one is told to abort.

    `token` (and `attempt`): expire only that attempt (maintenance passes the
    attempt it found too old, the worker its own), so an attempt that began
    since is not expired for the one before it.
    """
    with transaction.atomic():
        expired = _transition(
            job_id,
            from_statuses=list(from_statuses),
            token=token,
            attempt=attempt,
            kind=JobEvent.Kind.EXPIRED,
            sets={
                "status": JobStatus.FAILED,
                "error": reason,
                "error_kind": ErrorKind.EXPIRED,
                "completed_at": _now(),
                "status_message": "Expired",
            },
            raw_sets=["cancel_requested_at = COALESCE(cancel_requested_at, now())"],
            message=reason,
            actor="maintenance",
        )
        if expired is None:
            return None
        jobsql.cancel_queue_row(
            expired.job.procrastinate_job_id, abort=expired.from_status == JobStatus.RUNNING
        )
    return expired.job


def job_rescue(
    job_id: JobId, *, reason: str, token: int | None = None, attempt: int | None = None
) -> Job | None:
    """Hand an active job whose worker stopped responding to a new attempt.

    The job gets a new Procrastinate row (its new token); the old row, if it is
    still `todo` or `doing`, ends as `aborted`, so the stalled worker, should it
    come back, finds neither the job nor the queue row its own. `token`: only
    if that attempt is still the job's; `attempt`: only if a running job is on
    that attempt. A job row locked by someone else is skipped (None): the next
    rescue will find it again.
    """
    with transaction.atomic():
        current = (
            Job.objects.select_for_update(skip_locked=True)
            .filter(id=job_id, status__in=ACTIVE)
            .first()
        )
        if current is None:
            return None
        if token is not None and current.procrastinate_job_id != token:
            return None
        running = current.status == JobStatus.RUNNING
        if attempt is not None and running and current.attempts != attempt:
            return None
        old_token = current.procrastinate_job_id
        available_at = _now() if running else max(_now(), current.available_at)
        jt = registry.get(current.type)
        options = jt.retry_defer_options(current.input) if jt.retry_defer_options else {}
        new_token = _defer(
            current,
            jt,
            schedule_at=available_at if available_at > _now() else None,
            rescue=True,
            **options,
        )
        jobsql.supersede_queue_row(old_token)
        rescued = _transition(
            job_id,
            from_statuses=[current.status],
            token=old_token,
            kind=JobEvent.Kind.RESCUED,
            sets={
                "status": JobStatus.PENDING,
                "available_at": available_at,
                "procrastinate_job_id": new_token,
                **({"status_message": reason[:255]} if running else {}),
            },
            message=reason,
            data={"token": new_token, "previous_token": old_token},
            actor="maintenance",
        )
    return _job(rescued)
