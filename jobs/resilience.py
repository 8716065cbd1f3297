"""Workers that outlive a database restart.

Procrastinate's worker stops when its LISTEN connection cannot be re-opened
at once, or when a query of its own (fetch, finish, retry) fails while the
server is restarting: a `pg_ctl restart` would end every worker process. The
worker connector here waits for the server instead: its queries are retried
on connection errors for up to RECONNECT_SECONDS, and its listener reconnects
with back-off for as long as it runs. Installed by `jobs.apps` on the
Procrastinate app's Django connector (`get_worker_connector`).

A worker also never dies of a job it lost (see "Attempts are fenced" in the
README's "How a job runs"): a finish or retry of a queue row the platform has
already handed to another attempt (Procrastinate refuses it: "Job was not found
or not in doing status"), a deadlock or serialization failure on one job's row,
an error fetching a job, are logged, counted in `jobs_workerincident` (the
Prometheus page's `plinth_worker_incidents_total`) and left to the fencing
rules; the worker goes on fetching. A worker whose row was pruned as stalled
while it was alive (frozen, then resumed) registers again under its own id at
its next heartbeat or fetch.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import psycopg
from procrastinate import exceptions as pexc
from procrastinate import psycopg_connector
from procrastinate import sql as procrastinate_sql
from procrastinate.contrib.django import utils as django_utils
from procrastinate.contrib.django.settings import settings as procrastinate_settings

logger = logging.getLogger(__name__)
T = TypeVar("T")

RECONNECT_SECONDS = 120.0


def is_connection_error(exc: BaseException) -> bool:
    while exc is not None:
        if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return False


def _is(exc: BaseException, *kinds: type[BaseException]) -> bool:
    while exc is not None:
        if isinstance(exc, kinds):
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return False


_TRANSIENT = (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure)

# Procrastinate's own queries this connector treats specially.
_FINISH_QUERIES = frozenset(
    procrastinate_sql.queries[name] for name in ("finish_job", "retry_job")
)
_FETCH = procrastinate_sql.queries["fetch_job"]
_HEARTBEAT = procrastinate_sql.queries["update_heartbeat"]

# The heartbeat, re-registering a worker whose row was pruned while it lived.
_HEARTBEAT_UPSERT = (
    "INSERT INTO procrastinate_workers (id, last_heartbeat) OVERRIDING SYSTEM VALUE "
    "VALUES (%(worker_id)s, now()) ON CONFLICT (id) DO UPDATE SET last_heartbeat = now() "
    "RETURNING (xmax = 0) AS registered"
)
_REGISTER_AGAIN = (
    "INSERT INTO procrastinate_workers (id, last_heartbeat) OVERRIDING SYSTEM VALUE "
    "VALUES (%(worker_id)s, now()) ON CONFLICT (id) DO NOTHING"
)
_COUNT_INCIDENT = (
    "INSERT INTO jobs_workerincident (kind, count, last_at, last_message) "
    "VALUES (%(kind)s, 1, now(), %(message)s) ON CONFLICT (kind) DO UPDATE SET "
    "count = jobs_workerincident.count + 1, last_at = now(), "
    "last_message = EXCLUDED.last_message"
)

# Incident kinds (the `kind` label of plinth_worker_incidents_total).
FINISH_REFUSED = "finish_refused"
WORKER_REREGISTERED = "worker_reregistered"
TRANSIENT_CONFLICT = "deadlock_or_serialization"
FETCH_FAILED = "fetch_failed"


# A fetch whose reply was lost (the server restarted after committing it) left a
# row `doing` under this worker that it never received: back to `todo`.
_RELEASE_ORPHANS = (
    "UPDATE procrastinate_jobs SET status = 'todo', worker_id = NULL "
    "WHERE worker_id = %(worker_id)s AND status = 'doing' "
    "AND NOT (id = ANY(%(inflight)s::bigint[]))"
)


class ReconnectingConnector(psycopg_connector.PsycopgConnector):
    @property
    def inflight(self) -> set[int]:
        """The queue rows this worker fetched and has not finished yet."""
        found: set[int] | None = getattr(self, "_plinth_inflight", None)
        if found is None:
            found = set()
            self._plinth_inflight = found
        return found

    async def _fetch(self, query: Any, arguments: dict[str, Any]) -> Any:
        parent = super().execute_query_one_async
        lost_reply = False

        async def call() -> Any:
            nonlocal lost_reply
            if lost_reply:
                await super(ReconnectingConnector, self).execute_query_async(  # type: ignore[arg-type]
                    _RELEASE_ORPHANS, worker_id=arguments["worker_id"],
                    inflight=sorted(self.inflight),
                )
                logger.warning("a fetch's reply was lost; rows it took are queued again")
                lost_reply = False
            try:
                return await parent(query, **arguments)
            except pexc.ConnectorException as exc:
                if is_connection_error(exc):
                    lost_reply = True
                raise

        row = await self._surviving(call, query, arguments, {"id": None})
        if row and row["id"] is not None:
            self.inflight.add(row["id"])
        return row

    async def record_incident(self, kind: str, message: str) -> None:
        """Count one incident (best effort: counting must not be what fails)."""
        try:
            await super().execute_query_async(  # type: ignore[arg-type]
                _COUNT_INCIDENT, kind=kind, message=message[:1000]
            )
        except Exception:
            logger.exception("could not count worker incident %s", kind)

    async def _surviving(self, call: Callable[[], Awaitable[T]], query: Any,
                         arguments: dict[str, Any], fallback: T) -> T:
        """Run one of Procrastinate's job queries; a job it lost does not end the worker."""
        attempts = 0
        while True:
            try:
                return await self._retrying(call, "query")
            except pexc.ConnectorException as exc:
                if is_connection_error(exc):
                    raise  # the database is gone for good: a reconnect is not ours to fake
                attempts += 1
                if _is(exc, *_TRANSIENT) and attempts < 3:
                    logger.warning("deadlock or serialization failure on a job; retrying")
                    await asyncio.sleep(0.05 * attempts)
                    continue
                if query == _FETCH and _is(exc, psycopg.errors.ForeignKeyViolation) \
                        and attempts < 3:
                    logger.warning(
                        "worker %s: its row was pruned as stalled; registering again",
                        arguments.get("worker_id"),
                    )
                    await super().execute_query_async(  # type: ignore[arg-type]
                        _REGISTER_AGAIN, worker_id=arguments.get("worker_id")
                    )
                    await self.record_incident(WORKER_REREGISTERED, str(exc))
                    continue
                kind = (
                    TRANSIENT_CONFLICT if _is(exc, *_TRANSIENT)
                    else FETCH_FAILED if query == _FETCH
                    else FINISH_REFUSED
                )
                logger.warning(
                    "worker goes on after an error on a job it no longer owns (%s): %s",
                    kind, exc.__cause__ or exc,
                )
                await self.record_incident(kind, str(exc.__cause__ or exc))
                if query == _FETCH:
                    await asyncio.sleep(0.5)  # no tight loop on a fetch that keeps failing
                return fallback
    async def _retrying(self, call: Callable[[], Awaitable[T]], what: str) -> T:
        deadline = time.monotonic() + RECONNECT_SECONDS
        delay = 0.2
        while True:
            try:
                return await call()
            except pexc.ConnectorException as exc:
                if not is_connection_error(exc) or time.monotonic() > deadline:
                    raise
                logger.warning("database unreachable (%s); retrying in %.1f s", what, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def execute_query_async(self, query: Any, **arguments: Any) -> None:
        if query == _HEARTBEAT:
            return await self._heartbeat(arguments["worker_id"])
        parent = super().execute_query_async
        if query in _FINISH_QUERIES:
            try:
                return await self._surviving(
                    lambda: parent(query, **arguments), query, arguments, None
                )
            finally:
                self.inflight.discard(arguments.get("job_id"))  # type: ignore[arg-type]
        return await self._retrying(lambda: parent(query, **arguments), "query")

    async def execute_query_one_async(self, query: Any, **arguments: Any) -> Any:
        parent = super().execute_query_one_async
        if query == _FETCH:
            return await self._fetch(query, arguments)
        return await self._retrying(lambda: parent(query, **arguments), "query")

    async def _heartbeat(self, worker_id: int) -> None:
        parent = super().execute_query_one_async
        try:
            row = await self._retrying(
                lambda: parent(_HEARTBEAT_UPSERT, worker_id=worker_id),  # type: ignore[arg-type]
                "heartbeat",
            )
        except pexc.ConnectorException as exc:
            if is_connection_error(exc):
                raise
            # A deadlock with a prune, say: the next heartbeat comes in a moment;
            # a failed side task would stop the whole worker.
            logger.warning("worker %s: heartbeat failed (%s); next one soon", worker_id,
                           exc.__cause__ or exc)
            await self.record_incident(TRANSIENT_CONFLICT, str(exc.__cause__ or exc))
            return
        if row and row["registered"]:
            logger.warning("worker %s: its row was pruned as stalled; registered again",
                           worker_id)
            await self.record_incident(WORKER_REREGISTERED, f"worker {worker_id}")

    async def execute_query_all_async(self, query: Any, **arguments: Any) -> Any:
        parent = super().execute_query_all_async
        return await self._retrying(lambda: parent(query, **arguments), "query")

    async def listen_notify(self, on_notification: Any, channels: Any) -> None:
        delay = 0.2
        while True:
            try:
                await super().listen_notify(on_notification=on_notification, channels=channels)
            except pexc.ConnectorException as exc:
                if not is_connection_error(exc):
                    raise
                logger.warning("LISTEN connection lost; reconnecting in %.1f s", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)


def worker_connector() -> ReconnectingConnector:
    return ReconnectingConnector(
        kwargs=django_utils.connector_params(procrastinate_settings.DATABASE_ALIAS)
    )


def install() -> None:
    from procrastinate.contrib.django import app

    app.connector.get_worker_connector = worker_connector  # type: ignore[attr-defined]
