"""The connection and SQL plumbing under `jobs/lifecycle.py`.

`lifecycle` says which transitions exist; this module says how one is written:
the conditional UPDATE, its `JobEvent` and its `pg_notify` as one statement
(the event-and-notify SQL is written once, here), sent as a server-side
prepared statement on the worker's hot path, its row turned back into a `Job`
with Django's own converters, and the health-check round trip skipped for a
connection that has just answered. Also the Procrastinate queue-row writes a
transition makes (defer a new attempt's row, supersede or cancel an old one).

It imports no other module of the platform but the models and errors: the task
is deferred by name (`RUN_TASK_NAME`), so creating a job does not need the
runtime that registers the task, and lifecycle -> runtime is no import circle.
"""

from __future__ import annotations

import enum
import functools
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections, transaction
from procrastinate.contrib.django import app as procrastinate_app
from psycopg import Cursor as PsycopgCursor

from jobs.models import Job

logger = logging.getLogger(__name__)

NOTIFY_CHANNEL = "plinth_jobs"
RUN_TASK_NAME = "jobs.run"

JobId = UUID | str
T = TypeVar("T")

_JSON_COLUMNS = {"input", "output"}

# In a statement run in autocommit: its transaction commits without waiting for
# the WAL flush (`synchronous_commit` off for that one transaction). For writes
# whose loss in a database crash costs nothing lasting (progress, partial
# output, a rate-limit reservation, a log row followed by a durable write).
COMMIT_WITHOUT_FLUSH = "set_config('synchronous_commit', 'off', true)"


@dataclass(frozen=True)
class Transition:
    """What a transition wrote: the job's new row, the status it left, its event."""

    job: Job
    from_status: str
    event_id: int


def dumps(value: Any) -> str:
    return json.dumps(value, cls=DjangoJSONEncoder)


# --- The event and its notification, written once -------------------------------

# `ev`: one JobEvent per row of the CTE named by {source} (columns id,
# old_status, status, progress); then one pg_notify per event, carrying what a
# listener needs to decide whether to read the job. Parameters: event_params().
_EVENT_CTE = (
    "ev AS (INSERT INTO jobs_jobevent "
    "(job_id, kind, from_status, to_status, progress, message, data, actor, created_at) "
    "SELECT id, %s::varchar, old_status, status, progress, %s::text, %s::jsonb, "
    "%s::varchar, now() FROM {source} RETURNING id)"
)
_NOTIFY = (
    "pg_notify(%s::text, jsonb_build_object('job', {source}.id::text, "
    "'status', {source}.status, 'progress', {source}.progress, "
    "'kind', %s::text, 'event', ev.id)::text)"
)


def _event_params(kind: str, message: str, data: Mapping[str, Any] | None, actor: str) -> list[Any]:
    return [str(kind), message, dumps(dict(data or {})), actor]


def record_event(
    job: Job,
    *,
    kind: str,
    from_status: str,
    message: str = "",
    data: Mapping[str, Any] | None = None,
    actor: str = "",
) -> int:
    """Append a JobEvent for `job` as it is and notify listeners, in one statement."""
    sql = (
        "WITH src AS (SELECT %s::uuid AS id, %s::varchar AS old_status, "
        "%s::varchar AS status, %s::integer AS progress), "
        + _EVENT_CTE.format(source="src")
        + " SELECT ev.id, "
        + _NOTIFY.format(source="src")
        + " FROM src, ev"
    )
    params = [
        str(job.id), str(from_status), str(job.status), job.progress,
        *_event_params(kind, message, data, actor), NOTIFY_CHANNEL, str(kind),
    ]
    row = fetch_one(sql, params)
    assert row is not None
    return int(row[0])


# --- The transition statement ---------------------------------------------------


def _set_params(sets: Mapping[str, Any]) -> list[Any]:
    params: list[Any] = []
    for column, value in sets.items():
        if isinstance(value, enum.Enum):
            value = value.value  # psycopg would send an Enum's name
        if column in _JSON_COLUMNS:
            value = None if value is None else dumps(value)
        params.append(value)
    return params


@functools.lru_cache(maxsize=256)
def _transition_sql(
    columns: tuple[str, ...], raw_sets: tuple[str, ...], by_attempt: bool, by_token: bool,
    async_commit: bool,
) -> str:
    """The statement of a transition of this shape (built once: a worker runs the
    same few shapes thousands of times)."""
    assignments = [
        f"{column} = %s::jsonb" if column in _JSON_COLUMNS else f"{column} = %s"
        for column in columns
    ]
    assignments += [*raw_sets, "updated_at = now()"]
    where = (" AND attempts = %s::integer" if by_attempt else "") + (
        " AND procrastinate_job_id = %s::bigint" if by_token else ""
    )
    # Explicit casts keep the statement valid with server-side parameters too
    # (DATABASES OPTIONS server_side_binding / prepare_threshold).
    return (
        "WITH old AS (SELECT id, status FROM jobs_job WHERE id = %s::uuid"
        f" AND status = ANY(%s::text[]){where} FOR UPDATE), "
        f"upd AS (UPDATE jobs_job j SET {', '.join(assignments)} FROM old WHERE j.id = old.id "
        f"RETURNING {_returning()}, old.status AS old_status), "
        + _EVENT_CTE.format(source="upd")
        + " SELECT upd.*, ev.id, "
        + _NOTIFY.format(source="upd")
        + (f", {COMMIT_WITHOUT_FLUSH}" if async_commit else "")
        + " FROM upd, ev"
    )


def transition(
    job_id: JobId,
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
    prepare: bool = False,
) -> Transition | None:
    """The conditional UPDATE, its JobEvent and its pg_notify as ONE statement.

    One statement is one transaction in autocommit (one round trip instead of
    BEGIN, UPDATE, INSERT, COMMIT), and joins the caller's transaction inside
    an atomic block. The old status comes from a row lock taken in the same
    statement, so two racing transitions serialize and the second sees the
    first's result. None when the job was not in one of `from_statuses` (or
    not on `attempt` / `token`).

    `prepare`: a server-side prepared statement, for the worker's hot path
    (start, progress, partial output, complete).

    `flush_later`: progress and partial output commit without waiting for the
    WAL flush when they run on their own: losing one to a server crash loses
    a figure or a draft the next write replaces. The start and the completion
    are durable: a start lost to a crash while the worker went on left it
    running an attempt the database never began (every later write refused,
    its queue row ended under a job still pending on it), and a lost completion
    left the job `running` under a queue row the worker then marked succeeded
    (both found by the Postgres-restart fault test, `-m immediate`).
    """
    where_params: list[Any] = [str(job_id), [str(s) for s in from_statuses]]
    if attempt is not None:
        where_params.append(attempt)
    if token is not None:
        where_params.append(token)
    # The wrapper itself, not the `connection` proxy (each attribute of which
    # is a thread-local lookup).
    conn = connections[DEFAULT_DB_ALIAS]
    sql = _transition_sql(
        tuple(sets), tuple(raw_sets), attempt is not None, token is not None,
        flush_later and not conn.in_atomic_block,
    )
    params = [
        *where_params,
        *_set_params(sets),
        *_event_params(kind, message, data, actor),
        NOTIFY_CHANNEL,
        str(kind),
    ]
    row = fetch_one(sql, params, prepare=prepare or flush_later)
    if row is None:
        return None
    n = len(_job_fields())
    return Transition(job=row_to_job(row[:n]), from_status=row[n], event_id=int(row[n + 1]))


def row_to_job(row: Iterable[Any]) -> Job:
    """A Job from its columns in field order, converted as Django's compiler would."""
    conn = connections[DEFAULT_DB_ALIAS]
    values = list(row)
    for i, fns in _converters(conn):
        for fn in fns:
            values[i] = fn(values[i], None, conn)
    return Job.from_db(conn.alias, None, values)  # type: ignore[arg-type]  # None: all fields


# --- Running a statement --------------------------------------------------------


def fetch_one(
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
    if not (prepare and prepare_enabled()):
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
def prepare_enabled() -> bool:
    return bool(settings.JOBS.get("PREPARE_STATEMENTS", True))


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


def on_live_connection(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`fn(*args, **kwargs)` (one statement of the worker's) without a health-check
    round trip on a connection that answered within the last seconds.

    If that connection turns out dead (a database restart while the worker was
    busy), it is replaced and `fn` sent once more: a statement on a dead
    connection never reached the server, and one whose reply was lost finds
    the job already moved on (the transitions are conditional). Inside a
    transaction nothing is resent.
    """
    if not skip_recent_health_check():
        return fn(*args, **kwargs)
    try:
        return fn(*args, **kwargs)
    except (OperationalError, InterfaceError):
        conn = connections[DEFAULT_DB_ALIAS]
        if conn.in_atomic_block:
            raise
        logger.warning("the worker's database connection was dead; reconnecting")
        conn.close()
        return fn(*args, **kwargs)


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


# --- Procrastinate queue rows ---------------------------------------------------


class QueueingLockTaken(Exception):
    """A row with the same queueing lock is already waiting."""


def defer_row(
    job_id: JobId,
    *,
    queue: str,
    lock: str | None,
    queueing_lock: str | None,
    priority: int = 0,
    schedule_at: Any = None,
    keep_if_queueing_lock_taken: bool = False,
) -> int:
    """Queue a new Procrastinate row running the job, on the current connection
    (and transaction); returns its id, the new attempt's fencing token.

    `keep_if_queueing_lock_taken`: the job was already admitted, so a queueing
    lock another job took meanwhile must not lose it; the row then goes without
    it (the lock, which keeps two of them from running at once, stays).
    Otherwise raises QueueingLockTaken.
    """
    from procrastinate import exceptions as pexc

    options: dict[str, Any] = {
        "queue": queue, "lock": lock, "priority": priority, "schedule_at": schedule_at,
    }

    def defer(**extra: Any) -> int:
        deferrer = procrastinate_app.configure_task(RUN_TASK_NAME, **options, **extra)
        return int(deferrer.defer(job_id=str(job_id)))

    try:
        if keep_if_queueing_lock_taken:
            with transaction.atomic():  # a savepoint: AlreadyEnqueued leaves the caller's work
                return defer(queueing_lock=queueing_lock)
        return defer(queueing_lock=queueing_lock)
    except pexc.AlreadyEnqueued as exc:
        if keep_if_queueing_lock_taken:
            return defer()
        raise QueueingLockTaken(str(exc)) from exc


def supersede_queue_row(procrastinate_job_id: int | None) -> bool:
    """End a Procrastinate row whose attempt is no longer the job's (status
    `aborted`, which neither a finish nor a retry of Procrastinate accepts), so a
    late worker that still holds it can change nothing and its lock is free."""
    if procrastinate_job_id is None:
        return False
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(
            "UPDATE procrastinate_jobs SET status = 'aborted', abort_requested = false "
            "WHERE id = %s AND status IN ('todo', 'doing')",
            [procrastinate_job_id],
        )
        return cursor.rowcount > 0


def cancel_queue_row(procrastinate_job_id: int | None, *, abort: bool) -> None:
    """Cancel a job's queue row (`abort`: ask the worker running it to stop)."""
    if procrastinate_job_id is None:
        return
    try:
        procrastinate_app.job_manager.cancel_job_by_id(
            procrastinate_job_id, abort=abort, delete_job=False
        )
    except Exception:  # the queue row may be gone (pruned); the job row decides
        logger.warning("could not cancel procrastinate job %s", procrastinate_job_id)
