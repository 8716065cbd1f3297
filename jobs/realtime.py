"""LISTEN/NOTIFY fan-out to server-sent-event streams.

Every job transition commits a `JobEvent` row and a `pg_notify('plinth_jobs',
'{"job", "status", "progress", "kind", "event"}')` (see `jobs.lifecycle`). A
web process holds ONE database connection that LISTENs on that channel (the
`Hub`, one per event loop, started by the first stream) and hands each
notification to the streams open for its job: a thousand browsers watching
jobs cost one connection, not a thousand.

The notification carries the event's id, not its message, so the hub reads the
notified events of the jobs someone watches (one query per batch of
notifications, on the same connection, none for unwatched jobs) and gives every
stream of that job the same row. A stream replays what it missed from the
`JobEvent` table (after `Last-Event-ID`) with a short-lived pooled connection.

If the LISTEN connection drops, the hub reconnects with back-off and tells every
stream to resynchronize from the table, since notifications sent meanwhile are
lost. A LISTEN connection quiet for REALTIME_HEALTHCHECK_SECONDS is checked with
a query, so one that died silently is noticed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from django.conf import settings
from django.db import connections
from psycopg.types.string import TextLoader

from jobs.lifecycle import NOTIFY_CHANNEL
from jobs.models import FINAL_STATUSES

logger = logging.getLogger(__name__)

APPLICATION_NAME = "plinth-realtime"
_FINAL = tuple(str(s) for s in FINAL_STATUSES)
_QUEUE_SIZE = 1000
# Messages for events that carry none, as the Job row's status_message has them.
_DEFAULT_MESSAGES = {
    "created": "Queued",
    "started": "Running",
    "completed": "Completed",
    "cancel_requested": "Cancelling...",
    "cancelled": "Cancelled",
    "retried": "Queued for retry",
}
_EVENT_SQL = (
    "SELECT e.id, e.job_id::text, e.kind, e.to_status, e.progress, e.message, e.created_at, "
    "CASE WHEN e.to_status = ANY(%(final)s) THEN j.output END, "
    "CASE WHEN e.to_status = ANY(%(final)s) THEN j.error ELSE '' END, "
    "CASE WHEN e.to_status = ANY(%(final)s) THEN j.error_kind ELSE '' END, "
    "CASE WHEN e.kind = 'output' THEN j.partial_output END "
    "FROM jobs_jobevent e JOIN jobs_job j ON j.id = e.job_id "
)


class RealtimeUnavailable(Exception):
    """No stream can be opened now (the LISTEN connection is down, or too many are open)."""


class _Resync:
    """Queued to a stream when notifications may have been lost: re-read the table."""

    def __repr__(self) -> str:
        return "RESYNC"


RESYNC = _Resync()


@dataclass(frozen=True)
class StreamEvent:
    id: int
    job: str
    kind: str
    status: str
    progress: int
    message: str
    at: str
    output: Any = None
    error: str = ""
    error_kind: str = ""
    # Output events: the text written so far (the row's latest when read).
    partial_output: str | None = None

    @property
    def name(self) -> str:
        """The SSE event name: `progress` for progress reports, `output` for partial
        output (a streamed LLM call), `status` for transitions."""
        if self.kind in ("progress", "output"):
            return self.kind
        return "status"

    @property
    def is_final(self) -> bool:
        return self.status in _FINAL

    def data(self, *, final: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "job": self.job,
            "kind": self.kind,
            "status": self.status,
            "progress": self.progress,
            "message": self.message,
            "at": self.at,
            "final": final,
        }
        if self.is_final:
            body.update(output=self.output, error=self.error, error_kind=self.error_kind)
        if self.kind == "output":
            body["partial_output"] = self.partial_output or ""
        return body

    def encode(self, *, final: bool) -> str:
        # One event goes to every stream of its job (a thousand of them): it
        # is encoded once per `final`, not once per stream.
        cache: dict[bool, str] = self.__dict__.setdefault("_encoded", {})
        text = cache.get(final)
        if text is None:
            payload = json.dumps(self.data(final=final), separators=(",", ":"), default=str)
            text = cache[final] = f"id: {self.id}\nevent: {self.name}\ndata: {payload}\n\n"
        return text

    @classmethod
    def from_row(cls, row: Iterable[Any]) -> StreamEvent:
        (event_id, job, kind, status, progress, message, at, output, error, error_kind,
         partial_output) = row
        if isinstance(output, str):
            output = json.loads(output)
        return cls(
            id=int(event_id),
            job=job,
            kind=kind,
            status=status,
            progress=int(progress),
            message=message or _DEFAULT_MESSAGES.get(kind, ""),
            at=at.isoformat() if at else "",
            output=output,
            error=error or "",
            error_kind=error_kind or "",
            partial_output=partial_output,
        )


def connection_params() -> dict[str, Any]:
    """psycopg keyword arguments for the Django database, for connections of our own."""
    params = connections["default"].get_connection_params()
    for key in ("context", "cursor_factory", "prepare_threshold"):
        params.pop(key, None)
    return params


async def configure_connection(conn: Any) -> None:
    """As Django's connections: UTC times, and JSON as text (decoded by the model
    field or StreamEvent). Every async connection of our own goes through this:
    the LISTEN connection and the pool below."""
    conn.adapters.register_loader("jsonb", TextLoader)
    await conn.execute("SELECT set_config('TimeZone', 'UTC', false)")


def async_pool(*, min_size: int, max_size: int) -> Any:
    """An async psycopg pool on the Django database (autocommit, configured as
    above), not yet open: the poll route's and the event streams' (jobs.api.poll)."""
    from psycopg_pool import AsyncConnectionPool

    return AsyncConnectionPool(
        kwargs={**connection_params(), "autocommit": True}, min_size=min_size,
        max_size=max_size, configure=configure_connection, open=False,
    )


REPLAY_LIMIT = 500


async def fetch_events(
    conn: Any, *, job_id: str, after: int, limit: int = REPLAY_LIMIT
) -> list[StreamEvent]:
    """A job's events after an id, oldest first (at most `limit`)."""
    cursor = await conn.execute(
        _EVENT_SQL + "WHERE e.job_id = %(job)s::uuid AND e.id > %(after)s ORDER BY e.id "
        "LIMIT %(limit)s",
        {"final": list(_FINAL), "job": job_id, "after": after, "limit": limit},
    )
    return [StreamEvent.from_row(row) for row in await cursor.fetchall()]


async def _fetch_by_ids(conn: Any, ids: list[int]) -> list[StreamEvent]:
    cursor = await conn.execute(
        _EVENT_SQL + "WHERE e.id = ANY(%(ids)s) ORDER BY e.id",
        {"final": list(_FINAL), "ids": ids},
    )
    return [StreamEvent.from_row(row) for row in await cursor.fetchall()]


@dataclass(eq=False)
class Subscription:
    """One open stream's mailbox: its job's events, or RESYNC."""

    hub: Hub
    job_id: str
    queue: asyncio.Queue[StreamEvent | _Resync] = field(
        default_factory=lambda: asyncio.Queue(_QUEUE_SIZE)
    )
    closed: bool = False

    def push(self, item: StreamEvent | _Resync) -> None:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            # A stream far behind: drop what it has and let it re-read the table.
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(RESYNC)

    async def get(self, timeout: float) -> StreamEvent | _Resync | None:
        """The next item, or None after `timeout` seconds without one."""
        if not self.queue.empty():
            return self.queue.get_nowait()
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for wraps every
        # wait in a Task of its own, once per event per stream.
        try:
            async with asyncio.timeout(timeout):
                return await self.queue.get()
        except TimeoutError:
            return None

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.hub.unsubscribe(self)


class Hub:
    """The process's LISTEN connection and the streams it feeds (one per event loop)."""

    def __init__(self) -> None:
        self.subscriptions: dict[str, set[Subscription]] = {}
        self.count = 0
        self.backend_pid: int | None = None
        self.connects = 0
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # -- streams --------------------------------------------------------------------

    async def subscribe(self, job_id: str) -> Subscription:
        """Register a stream for a job once the LISTEN connection is up.

        Register first, replay from the table after: an event committed in
        between is both notified and read, and the stream drops the duplicate
        by its id; none can fall between the two.
        """
        if self.count >= int(settings.REALTIME_MAX_STREAMS):
            raise RealtimeUnavailable("Too many open event streams; poll instead.")
        self._start()
        sub = Subscription(self, job_id)
        self.subscriptions.setdefault(job_id, set()).add(sub)
        self.count += 1
        try:
            await asyncio.wait_for(
                self._ready.wait(), float(settings.REALTIME_SUBSCRIBE_TIMEOUT_SECONDS)
            )
        except TimeoutError:
            sub.close()
            raise RealtimeUnavailable("Live updates are unavailable; poll instead.") from None
        except BaseException:  # the client went away while we waited
            sub.close()
            raise
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        subs = self.subscriptions.get(sub.job_id)
        if subs is not None and sub in subs:
            subs.discard(sub)
            self.count -= 1
            if not subs:
                del self.subscriptions[sub.job_id]

    def _dispatch(self, events: list[StreamEvent]) -> None:
        for event in events:
            for sub in list(self.subscriptions.get(event.job, ())):
                sub.push(event)

    def _resync_all(self) -> None:
        for subs in list(self.subscriptions.values()):
            for sub in list(subs):
                sub.push(RESYNC)

    # -- the LISTEN connection ------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def _start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="realtime-hub")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        self._ready.clear()

    async def _run(self) -> None:
        delay = 0.1
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(
                    **connection_params(),
                    autocommit=True,
                    application_name=APPLICATION_NAME,
                    # Notice a peer that vanished without closing the socket (TCP only).
                    keepalives=1, keepalives_idle=30, keepalives_interval=10,
                    keepalives_count=3,
                )
            except psycopg.Error as exc:
                logger.warning("realtime: cannot connect for LISTEN (%s); retry in %.1f s",
                               exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, float(settings.REALTIME_RECONNECT_MAX_SECONDS))
                continue
            try:
                async with conn:
                    await configure_connection(conn)
                    await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    self.backend_pid = conn.info.backend_pid
                    self.connects += 1
                    if self.connects > 1:
                        # Notifications sent while we were away are lost: re-read.
                        self._resync_all()
                    self._ready.set()
                    delay = 0.1
                    await self._listen(conn)
            except psycopg.Error as exc:
                logger.warning("realtime: LISTEN connection lost (%s); reconnecting", exc)
            except Exception:
                # Never leave the process's streams without their feed: log, reconnect.
                logger.exception("realtime: the LISTEN loop failed; reconnecting")
            finally:
                self._ready.clear()
                self.backend_pid = None
            await asyncio.sleep(delay)
            delay = min(delay * 2, float(settings.REALTIME_RECONNECT_MAX_SECONDS))

    async def _listen(self, conn: psycopg.AsyncConnection[Any]) -> None:
        health = float(settings.REALTIME_HEALTHCHECK_SECONDS)
        while True:
            ids: list[int] = []
            received = False
            # Returns after the first packet of notifications (and any that
            # arrived while we were querying), or after `health` seconds.
            async for notify in conn.notifies(timeout=health, stop_after=1):
                received = True
                event_id = self._watched_event(notify.payload)
                if event_id is not None:
                    ids.append(event_id)
            if ids:
                self._dispatch(await _fetch_by_ids(conn, ids))
            elif not received:
                await conn.execute("SELECT 1")

    def _watched_event(self, payload: str) -> int | None:
        if not self.subscriptions:
            return None  # nobody watches anything: not even worth parsing
        try:
            data = json.loads(payload)
            job = str(data["job"])
            event_id = int(data["event"])
        except (ValueError, KeyError, TypeError):
            return None
        return event_id if job in self.subscriptions else None


_hubs: dict[asyncio.AbstractEventLoop, Hub] = {}


def get_hub() -> Hub:
    """The running event loop's hub (a uvicorn worker process runs one loop)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        for stale in [k for k in _hubs if k.is_closed()]:
            del _hubs[stale]
        hub = _hubs[loop] = Hub()
    return hub


# --- one stream ------------------------------------------------------------------


def _final_flags(events: list[StreamEvent]) -> list[bool]:
    """Only the last of a batch may end a stream: a failed job that was retried
    has later events, and its old `failed` must not end the stream."""
    return [e.is_final and i == len(events) - 1 for i, e in enumerate(events)]


async def replay(pool: Any, *, job_id: str, after: int) -> tuple[list[StreamEvent], bool]:
    """A page of a job's events after an id, and whether more follow it."""
    async with pool.connection() as conn:
        events = await fetch_events(conn, job_id=job_id, after=after, limit=REPLAY_LIMIT + 1)
    return events[:REPLAY_LIMIT], len(events) > REPLAY_LIMIT


async def stream(
    sub: Subscription, *, pool: Any, last_id: int, backlog: list[StreamEvent] | None = None
) -> AsyncIterator[str]:
    """A job's events as SSE text, from `last_id` on, until the job ends.

    Sends a `retry:` hint first (and so the response's headers at once), then
    what the table holds after `last_id`, then live events; a comment line
    every REALTIME_KEEPALIVE_SECONDS while nothing happens. Closes when the job
    ends, or after REALTIME_STREAM_MAX_SECONDS (the browser reconnects with
    Last-Event-ID and misses nothing).
    """
    keepalive = float(settings.REALTIME_KEEPALIVE_SECONDS)
    deadline = time.monotonic() + float(settings.REALTIME_STREAM_MAX_SECONDS)
    try:
        yield f"retry: {int(settings.REALTIME_RETRY_MS)}\n\n"
        if backlog is not None:
            pending, more = backlog, False
        else:
            pending, more = await replay(pool, job_id=sub.job_id, after=last_id)
        while True:
            for event, final in zip(pending, _final_flags(pending), strict=True):
                if event.id <= last_id:
                    continue  # both replayed and notified
                last_id = event.id
                yield event.encode(final=final and not more)
                if final and not more:
                    return
            if more:  # a long history: the next page before anything live
                pending, more = await replay(pool, job_id=sub.job_id, after=last_id)
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            item = await sub.get(min(keepalive, remaining))
            if item is None:
                if time.monotonic() < deadline:
                    yield ": keep-alive\n\n"
                pending = []
            elif item is RESYNC:
                pending, more = await replay(pool, job_id=sub.job_id, after=last_id)
            else:
                assert isinstance(item, StreamEvent)
                pending = [item]
    finally:
        sub.close()


async def replay_stream(events: list[StreamEvent], *, more: bool) -> AsyncIterator[str]:
    """A finished job's remaining events: no subscription needed. With `more`, the
    last is not marked final, so the browser reconnects for the next page."""
    yield f"retry: {int(settings.REALTIME_RETRY_MS)}\n\n"
    for event, final in zip(events, _final_flags(events), strict=True):
        yield event.encode(final=final and not more)
