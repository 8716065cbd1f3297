"""Every change of a job's status, and nothing else, lives here.

Each transition is one conditional UPDATE (`WHERE status IN (...)`, and for the
worker's own writes `AND procrastinate_job_id = <its token> AND attempts =
<its attempt>`, so a worker that lost its job cannot overwrite it), then one
`JobEvent` and one `pg_notify`, in one transaction. The UPDATE's row count says
whether the transition happened.

The attempt's fencing token is the id of its own Procrastinate row: every
attempt that is not a retry the attempt itself asked for (the first run, a
rescue, a staff or API retry) is deferred as a new Procrastinate row, and the
`Job` records that row's id as `procrastinate_job_id`. Row ids come from a
sequence, so the token only grows for the life of the job; an attempt whose
token is no longer the job's changes nothing (see DESIGN.md, "Attempts are
fenced").
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import json
import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import (
    DEFAULT_DB_ALIAS,
    InterfaceError,
    OperationalError,
    connection,
    connections,
    transaction,
)
from django.utils import timezone
from procrastinate import exceptions as pexc
from procrastinate.contrib.django import app as procrastinate_app
from psycopg import Cursor as PsycopgCursor

from jobs import limits, registry, tracing
from jobs.errors import InvalidTransition, JobAlreadyQueued
from jobs.models import ErrorKind, Job, JobEvent, JobStatus, Organization

logger = logging.getLogger(__name__)

NOTIFY_CHANNEL = "plinth_jobs"
RUN_TASK_NAME = "jobs.run"

P = JobStatus.PENDING
R = JobStatus.RUNNING
Kind = JobEvent.Kind

_JSON_COLUMNS = {"input", "output"}


def _now() -> dt.datetime:
    return timezone.now()


def _dumps(value: Any) -> str:
    return json.dumps(value, cls=DjangoJSONEncoder)


def _assignments(
    sets: Mapping[str, Any], raw_sets: Iterable[str]
) -> tuple[list[str], list[Any]]:
    assignments = []
    params: list[Any] = []
    for column, value in sets.items():
        if isinstance(value, enum.Enum):
            value = value.value  # psycopg would send an Enum's name
        if column in _JSON_COLUMNS:
            assignments.append(f"{column} = %s::jsonb")
            params.append(None if value is None else _dumps(value))
        else:
            assignments.append(f"{column} = %s")
            params.append(value)
    assignments.extend(raw_sets)
    assignments.append("updated_at = now()")
    return assignments, params


def _record(
    job: Job,
    *,
    kind: str,
    from_status: str,
    message: str = "",
    data: Mapping[str, Any] | None = None,
    actor: str = "",
) -> int:
    """Append the JobEvent and notify listeners, in one round trip."""
    payload_fields = {
        "job": str(job.id),
        "status": str(job.status),
        "progress": job.progress,
        "kind": str(kind),
    }
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH e AS (INSERT INTO jobs_jobevent "
            "(job_id, kind, from_status, to_status, progress, message, data, actor, created_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb, %s, now()) RETURNING id) "
            "SELECT id, pg_notify(%s, (%s::jsonb || jsonb_build_object('event', id))::text) "
            "FROM e",
            [
                str(job.id),
                str(kind),
                str(from_status),
                str(job.status),
                job.progress,
                message,
                _dumps(dict(data or {})),
                actor,
                NOTIFY_CHANNEL,
                _dumps(payload_fields),
            ],
        )
        (event_id, _) = cursor.fetchone()
    return int(event_id)


def _transition(
    job_id: Any,
    *,
    from_statuses: Iterable[str],
    kind: str,
    sets: Mapping[str, Any],
    raw_sets: Iterable[str] = (),
    attempt: int | None = None,
    token: int | None = None,
    message: str = "",
    data: Mapping[str, Any] | None = None,
    actor: str = "",
    flush_later: bool = False,
) -> Job | None:
    """The conditional UPDATE, its JobEvent and its pg_notify as ONE statement.

    One statement is one transaction in autocommit (one round trip instead of
    BEGIN, UPDATE, INSERT, COMMIT), and joins the caller's transaction inside
    an atomic block. The old status comes from a row lock taken in the same
    statement, so two racing transitions serialize and the second sees the
    first's result. Returns the new row (with `old_status`), or None when the
    job was not in one of `from_statuses`.

    `flush_later`: the worker's own hot-path transitions (start, progress,
    complete) commit without waiting for the WAL flush when they run on their
    own. Each is followed, on the worker, by a durable commit (Procrastinate's
    finish, or the next transition) that flushes the WAL past it, and losing
    one to a server crash leaves a state the platform already recovers from
    (the queue row is still `doing`: the job is rescued and re-run).
    """
    assignments, set_params = _assignments(sets, raw_sets)
    where_attempt = ""
    where_params: list[Any] = [str(job_id), [str(s) for s in from_statuses]]
    if attempt is not None:
        where_attempt = " AND attempts = %s::integer"
        where_params.append(attempt)
    if token is not None:
        where_attempt += " AND procrastinate_job_id = %s::bigint"
        where_params.append(token)
    # The wrapper itself, not the `connection` proxy (each attribute of which
    # is a thread-local lookup).
    conn = connections[DEFAULT_DB_ALIAS]
    async_commit = flush_later and not conn.in_atomic_block
    # Explicit casts keep the statement valid with server-side parameters too
    # (DATABASES OPTIONS server_side_binding / prepare_threshold).
    sql = (
        "WITH old AS (SELECT id, status FROM jobs_job WHERE id = %s::uuid"
        f" AND status = ANY(%s::text[]){where_attempt} FOR UPDATE), "
        f"upd AS (UPDATE jobs_job j SET {', '.join(assignments)} FROM old WHERE j.id = old.id "
        f"RETURNING {_returning()}, old.status AS old_status), "
        "ev AS (INSERT INTO jobs_jobevent "
        "(job_id, kind, from_status, to_status, progress, message, data, actor, created_at) "
        "SELECT id, %s::varchar, old_status, status, progress, %s::text, %s::jsonb, "
        "%s::varchar, now() FROM upd RETURNING id) "
        "SELECT upd.*, ev.id, pg_notify(%s::text, jsonb_build_object("
        "'job', upd.id::text, 'status', upd.status, 'progress', upd.progress, "
        "'kind', %s::text, 'event', ev.id)::text)"
        + (", set_config('synchronous_commit', 'off', true)" if async_commit else "")
        + " FROM upd, ev"
    )
    params = [
        *where_params,
        *set_params,
        str(kind),
        message,
        _dumps(dict(data or {})),
        actor,
        NOTIFY_CHANNEL,
        str(kind),
    ]
    row = _fetch_one(sql, params, prepare=flush_later)
    if row is None:
        return None
    n = len(_job_fields())
    values = list(row[:n])
    for i, fns in _converters(conn):
        for fn in fns:
            values[i] = fn(values[i], None, conn)
    job = Job.from_db(conn.alias, None, values)  # type: ignore[arg-type]  # None: all fields
    job.old_status = row[n]  # type: ignore[attr-defined]
    return job


def _fetch_one(
    sql: str, params: list[Any], *, prepare: bool = False
) -> tuple[Any, ...] | None:
    """Run one statement, return its first row.

    `prepare`: the worker's hot-path transitions run, a few hundred times a
    second, the same few statements: they go as a server-side prepared
    statement (psycopg's `prepare=True` on a server-binding cursor of the same
    connection and transaction) instead of Django's client-side interpolation.
    Postgres parses and plans each once per connection, not on every call
    (the CTE's planning was 0.15-0.2 ms of `EXPLAIN ANALYZE`, about a third of
    its execution), and Python skips quoting the parameters into the text.
    Off with JOBS["PREPARE_STATEMENTS"] (transaction-pooling proxies without
    prepared-statement support).
    """
    conn = connections[DEFAULT_DB_ALIAS]
    if not (prepare and _prepare_enabled()):
        with conn.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
    else:
        # What connection.cursor() does (health check, connect, broken
        # transaction check, error wrapping), with psycopg's own cursor.
        conn.close_if_health_check_failed()
        conn.ensure_connection()
        conn.validate_no_broken_transaction()
        with conn.wrap_database_errors:
            with PsycopgCursor(conn.connection) as cursor:
                cursor.execute(sql, params, prepare=True)
                row = cursor.fetchone()
    conn.plinth_last_ok = time.monotonic()  # type: ignore[attr-defined]
    return row  # type: ignore[no-any-return]


@functools.cache
def _prepare_enabled() -> bool:
    return bool(settings.JOBS.get("PREPARE_STATEMENTS", True))


def worker_job_start(job_id: Any, token: int | None = None) -> Job | None:
    """`job_start` for the worker, without a health-check round trip per job.

    The health check is skipped for a connection that answered within the
    last seconds (see `skip_recent_health_check`); if that connection turns
    out dead (a database restart while the worker was busy), it is replaced
    and the start sent once more: a statement on a dead connection never
    reached the server.
    """
    if not skip_recent_health_check():
        return job_start(job_id, token)
    try:
        return job_start(job_id, token)
    except (OperationalError, InterfaceError):
        conn = connections[DEFAULT_DB_ALIAS]
        if conn.in_atomic_block:
            raise
        logger.warning("job %s: its worker's connection was dead; reconnecting", job_id)
        conn.close()
        return job_start(job_id, token)


def skip_recent_health_check(max_idle: float = 5.0) -> bool:
    """Skip Django's `SELECT 1` health check for a connection that answered
    a statement less than `max_idle` seconds ago.

    Procrastinate's Django middleware resets the health check before every
    job, so a busy worker paid one round trip per job for it. A connection
    idle longer (what the check is for: one that died while the worker had
    nothing to do) is still checked; a connection that dies within seconds
    of answering fails the same way it would between the check and the
    statement.
    """
    conn = connections[DEFAULT_DB_ALIAS]
    last = getattr(conn, "plinth_last_ok", None)
    if (
        last is not None
        and conn.connection is not None
        and not conn.errors_occurred
        and time.monotonic() - last < max_idle
    ):
        conn.health_check_done = True  # type: ignore[attr-defined]  # Django's private flag
        return True
    return False


@functools.cache
def _job_fields() -> tuple[Any, ...]:
    return tuple(Job._meta.concrete_fields)


@functools.cache
def _returning() -> str:
    return ", ".join(f"j.{f.column}" for f in _job_fields())


_CONVERTERS: dict[str, tuple[tuple[int, tuple[Any, ...]], ...]] = {}


def _converters(conn: Any) -> tuple[tuple[int, tuple[Any, ...]], ...]:
    """(column index, converters) of the Job columns that have any: what Django's
    query compiler applies (JSON columns come back as text), looked up once."""
    found = _CONVERTERS.get(conn.vendor)
    if found is None:
        found = _CONVERTERS[conn.vendor] = tuple(
            (i, tuple(f.get_db_converters(conn)))
            for i, f in enumerate(_job_fields())
            if f.get_db_converters(conn)
        )
    return found


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
    """Queue a new Procrastinate row for the job, on the current connection (and
    transaction): its id is the new attempt's fencing token.

    `rescue`: the job was already admitted, so a queueing lock another job of
    the same scope took meanwhile must not lose it; the row goes without it
    (the lock, which keeps two of them from running at once, stays).
    """
    lock = job_type.lock(job.input, job.scope) if job_type.lock else None
    queueing_lock = (
        job_type.queueing_lock(job.input, job.scope) if job_type.queueing_lock else None
    )
    task = procrastinate_app.tasks[RUN_TASK_NAME]
    options: dict[str, Any] = {
        "queue": queue or job_type.queue,
        "lock": lock,
        "priority": priority,
        "schedule_at": schedule_at,
    }
    try:
        if rescue:
            with transaction.atomic():  # a savepoint: AlreadyEnqueued leaves the caller's work
                return task.configure(queueing_lock=queueing_lock, **options).defer(
                    job_id=str(job.id)
                )
        return task.configure(queueing_lock=queueing_lock, **options).defer(
            job_id=str(job.id)
        )
    except pexc.AlreadyEnqueued as exc:
        if rescue:
            return task.configure(**options).defer(job_id=str(job.id))
        raise JobAlreadyQueued(
            f"A {job_type.name} job for this {job.scope or 'scope'} is already queued."
        ) from exc


def supersede_queue_row(procrastinate_job_id: int | None) -> bool:
    """End a Procrastinate row whose attempt is no longer the job's (status
    `aborted`, which neither a finish nor a retry of Procrastinate accepts), so a
    late worker that still holds it can change nothing and its lock is free."""
    if procrastinate_job_id is None:
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE procrastinate_jobs SET status = 'aborted', abort_requested = false "
            "WHERE id = %s AND status IN ('todo', 'doing')",
            [procrastinate_job_id],
        )
        return cursor.rowcount > 0


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
        status=P,
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
        _record(job, kind=Kind.CREATED, from_status="", actor=_actor(user, source))
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


def job_start(job_id: Any, token: int | None = None) -> Job | None:
    """pending -> running, for a new attempt. None if the job is not pending, or
    when `token` (the Procrastinate row the worker took) is no longer the job's.

    With a token, a job already `running` on that same token starts again as
    the next attempt: only the worker holding the row can start it, so the
    earlier run on the row is over (its start's reply was lost to a database
    restart, or it handed the row back before its handler began). Without
    this, such a job stayed `running` under no worker until it expired.
    """
    return _transition(
        job_id,
        from_statuses=[P] if token is None else [P, R],
        token=token,
        kind=Kind.STARTED,
        sets={"status": R, "started_at": _now(), "status_message": "Running"},
        raw_sets=[
            "attempts = attempts + 1",
            "cancel_requested_at = CASE WHEN j.status = 'pending' THEN NULL"
            " ELSE j.cancel_requested_at END",
        ],
        flush_later=True,
    )


def job_progress(
    job_id: Any,
    *,
    attempt: int,
    progress: int,
    message: str | None = None,
    token: int | None = None,
) -> Job | None:
    """Record progress. None when the attempt no longer owns a running job."""
    sets: dict[str, Any] = {"progress": max(0, min(100, int(progress)))}
    if message is not None:
        sets["status_message"] = message[:255]
    return _transition(
        job_id,
        from_statuses=[R],
        attempt=attempt,
        token=token,
        kind=Kind.PROGRESS,
        sets=sets,
        message=message or "",
        flush_later=True,
    )


def job_partial_output(
    job_id: Any, *, attempt: int, text: str, token: int | None = None
) -> Job | None:
    """Record the output written so far (one event, one NOTIFY). None when the
    attempt no longer owns a running job. Callers coalesce: a few a second."""
    return _transition(
        job_id,
        from_statuses=[R],
        attempt=attempt,
        token=token,
        kind=Kind.OUTPUT,
        sets={"partial_output": text},
        flush_later=True,
    )


def job_complete(
    job_id: Any, *, attempt: int, output: Mapping[str, Any] | None, token: int | None = None
) -> Job | None:
    return _transition(
        job_id,
        from_statuses=[R],
        attempt=attempt,
        token=token,
        kind=Kind.COMPLETED,
        sets={
            "status": JobStatus.COMPLETED,
            "progress": 100,
            "output": dict(output or {}),
            "completed_at": _now(),
            "status_message": "Completed",
            "error": "",
            "error_kind": "",
        },
        flush_later=True,  # Procrastinate's finish, right after, makes it durable
    )


def job_schedule_retry(
    job_id: Any,
    *,
    attempt: int,
    error: str,
    kind: str,
    retry_at: dt.datetime,
    token: int | None = None,
) -> Job | None:
    """running -> pending after a retryable error; Procrastinate re-runs it at retry_at."""
    return _transition(
        job_id,
        from_statuses=[R],
        attempt=attempt,
        token=token,
        kind=Kind.RETRY_SCHEDULED,
        sets={
            "status": P,
            "available_at": retry_at,
            "error": error,
            "error_kind": kind,
            "status_message": f"Retrying after error: {error}"[:255],
        },
        message=error,
        data={"retry_at": retry_at.isoformat(), "error_kind": kind},
    )


def job_fail(
    job_id: Any,
    *,
    attempt: int | None,
    error: str,
    kind: str,
    actor: str = "worker",
    token: int | None = None,
) -> Job | None:
    return _transition(
        job_id,
        from_statuses=[R] if attempt is not None else [P, R],
        attempt=attempt,
        token=token,
        kind=Kind.FAILED,
        sets={
            "status": JobStatus.FAILED,
            "error": error,
            "error_kind": kind,
            "completed_at": _now(),
            "status_message": "Failed",
        },
        message=error,
        data={"error_kind": kind},
        actor=actor,
    )


def job_mark_cancelled(job_id: Any, *, attempt: int, token: int | None = None) -> Job | None:
    """A running job's handler noticed its abort request and stopped."""
    return _transition(
        job_id,
        from_statuses=[R],
        attempt=attempt,
        token=token,
        kind=Kind.CANCELLED,
        sets={
            "status": JobStatus.CANCELLED,
            "completed_at": _now(),
            "status_message": "Cancelled",
        },
        actor="worker",
    )


def job_requeue(
    job_id: Any, *, attempt: int, reason: str, token: int | None = None
) -> Job | None:
    """running -> pending when the worker shuts down before the job ends."""
    return _transition(
        job_id,
        from_statuses=[R],
        attempt=attempt,
        token=token,
        kind=Kind.REQUEUED,
        sets={"status": P, "available_at": _now(), "status_message": reason[:255]},
        message=reason,
        actor="worker",
    )


# --- People's and maintenance's transitions ---------------------------------


def _procrastinate_cancel(job: Job, *, abort: bool) -> None:
    if job.procrastinate_job_id is None:
        return
    try:
        procrastinate_app.job_manager.cancel_job_by_id(
            job.procrastinate_job_id, abort=abort, delete_job=False
        )
    except Exception:  # the queue row may be gone (pruned); the job row decides
        logger.warning("could not cancel procrastinate job %s", job.procrastinate_job_id)


def job_cancel(job_id: Any, *, actor: str = "system") -> Job:
    """Cancel: a pending job at once; a running one is asked to stop.

    Raises InvalidTransition for a job that has already finished.
    """
    with transaction.atomic():
        job = _transition(
            job_id,
            from_statuses=[P],
            kind=Kind.CANCELLED,
            sets={
                "status": JobStatus.CANCELLED,
                "completed_at": _now(),
                "status_message": "Cancelled",
            },
            actor=actor,
        )
        if job is not None:
            _procrastinate_cancel(job, abort=False)
            return job
        job = _transition(
            job_id,
            from_statuses=[R],
            kind=Kind.CANCEL_REQUESTED,
            sets={"status_message": "Cancelling..."},
            raw_sets=["cancel_requested_at = COALESCE(cancel_requested_at, now())"],
            actor=actor,
        )
        if job is not None:
            # Procrastinate's abort flag reaches the worker's abort poll, so the
            # handler's next should_abort() sees it without reading our row.
            _procrastinate_cancel(job, abort=True)
            return job
    current = Job.objects.filter(id=job_id).values_list("status", flat=True).first()
    raise InvalidTransition(f"Job is already {current}; only active jobs can be cancelled.")


def job_retry(job_id: Any, *, actor: str = "system", enforce_limits: bool = True) -> Job:
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
        job = _transition(
            job_id,
            from_statuses=[JobStatus.FAILED, JobStatus.CANCELLED],
            kind=Kind.RETRIED,
            sets={
                "status": P,
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
        assert job is not None  # the row is locked above
    return job


def job_expire(
    job_id: Any,
    *,
    reason: str,
    token: int | None = None,
    attempt: int | None = None,
    from_statuses: Iterable[str] = (P, R),
) -> Job | None:
    """An active job past its time fails as expired; a running one is told to abort.

    `token` (and `attempt`): expire only that attempt (maintenance passes the
    attempt it found too old, the worker its own), so an attempt that began
    since is not expired for the one before it.
    """
    with transaction.atomic():
        job = _transition(
            job_id,
            from_statuses=list(from_statuses),
            token=token,
            attempt=attempt,
            kind=Kind.EXPIRED,
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
        if job is None:
            return None
        _procrastinate_cancel(job, abort=job.old_status == R)  # type: ignore[attr-defined]
    return job


def job_rescue(
    job_id: Any, *, reason: str, token: int | None = None, attempt: int | None = None
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
            .filter(id=job_id, status__in=[P, R])
            .first()
        )
        if current is None:
            return None
        if token is not None and current.procrastinate_job_id != token:
            return None
        if attempt is not None and current.status == R and current.attempts != attempt:
            return None
        old_token = current.procrastinate_job_id
        running = current.status == R
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
        supersede_queue_row(old_token)
        job = _transition(
            job_id,
            from_statuses=[current.status],
            token=old_token,
            kind=Kind.RESCUED,
            sets={
                "status": P,
                "available_at": available_at,
                "procrastinate_job_id": new_token,
                **({"status_message": reason[:255]} if running else {}),
            },
            message=reason,
            data={"token": new_token, "previous_token": old_token},
            actor="maintenance",
        )
    return job
