"""`GET /api/jobs/{id}/events`: a job's status, progress and messages as server-sent events.

An async view (served by uvicorn, see `manage.py serve`). Authentication and
scoping are the jobs API's: a DRF token (`Authorization: Token <key>`) or the
session; a job of another organization is 404. Each event is

    id: <JobEvent id>
    event: status | progress
    data: {"id", "job", "kind", "status", "progress", "message", "at", "final",
           and at the end "output", "error", "error_kind"}

The stream replays the events after `Last-Event-ID` (the header a browser's
EventSource sends when it reconnects, or `?last_event_id=`), then follows the
job live (see `jobs.realtime`), sends `: keep-alive` comments while nothing
happens, and ends after the event that ends the job (`"final": true`). A job
that has ended with nothing left to send answers 204, which tells EventSource
not to reconnect. 503 means no live updates now: poll `GET /api/jobs/{id}`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from rest_framework.authtoken.models import Token

from jobs import realtime, selectors
from jobs.api.poll import connection_pool, poll_sql
from jobs.models import FINAL_STATUSES, Job

_STATUS_INDEX = [f.name for f in Job._meta.concrete_fields].index("status")
_FINAL = {str(s) for s in FINAL_STATUSES}


class EventStreamResponse(StreamingHttpResponse):
    """text/event-stream that proxies must not buffer; `on_close` runs however it ends
    (Django closes every response, even one whose client left before it started)."""

    def __init__(self, content: AsyncIterator[str], on_close: Callable[[], None] | None = None):
        super().__init__(content, content_type="text/event-stream; charset=utf-8")
        self["Cache-Control"] = "no-cache"
        self["X-Accel-Buffering"] = "no"
        self._on_close = on_close

    def close(self) -> None:
        if self._on_close is not None:
            self._on_close()
        super().close()


def _error(status: int, detail: str, **headers: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status, headers=headers)


def _last_event_id(request: HttpRequest) -> int:
    raw = request.headers.get("Last-Event-ID") or request.GET.get("last_event_id") or "0"
    try:
        return max(0, int(raw))
    except ValueError:
        return 0


async def _token_job_status(pool: Any, job_id: Any, key: str) -> tuple[int, str | None]:
    """(HTTP status, job status) for a token client, as TokenAuthentication and the
    jobs API's scoping decide: 401 for a bad token, 404 for a job it may not see."""
    async with pool.connection() as conn:
        cursor = await conn.execute(poll_sql(), [job_id, key], prepare=True)
        row = await cursor.fetchone()
        if row is not None:
            return 200, str(row[_STATUS_INDEX])
        cursor = await conn.execute(
            f"SELECT 1 FROM {Token._meta.db_table} WHERE key = %s", [key]
        )
        valid = await cursor.fetchone()
    return (404 if valid else 401), None


def _release_connection() -> None:
    # The session lookup used this request's Django connection; a stream lasts
    # minutes, and must not hold a connection for them.
    connections["default"].close()


async def _session_job_status(request: HttpRequest, job_id: Any) -> tuple[int, str | None]:
    user = await request.auser()  # type: ignore[attr-defined]
    try:
        if not user.is_authenticated:
            return 401, None
        status = await (
            selectors.jobs_for_user(user).filter(id=job_id).values_list("status", flat=True)
        ).afirst()
    finally:
        await sync_to_async(_release_connection)()
    return (200, status) if status is not None else (404, None)


async def job_events(
    request: HttpRequest, job_id: Any
) -> HttpResponse | StreamingHttpResponse:
    if request.method not in ("GET", "HEAD"):
        return _error(405, f'Method "{request.method}" not allowed.', Allow="GET, HEAD")
    if not isinstance(request, ASGIRequest):
        return _error(503, "Event streams need the ASGI server (manage.py serve); poll "
                      f"/api/jobs/{job_id} instead.", **{"Retry-After": "5"})
    pool = await connection_pool()
    auth = request.headers.get("Authorization", "").split()
    if auth and auth[0].lower() == "token":
        if len(auth) != 2:
            return _error(401, "Invalid token header.", **{"WWW-Authenticate": "Token"})
        code, status = await _token_job_status(pool, job_id, auth[1])
    else:
        code, status = await _session_job_status(request, job_id)
    if code == 401:
        detail = "Invalid token." if auth else "Authentication credentials were not provided."
        return _error(401, detail, **{"WWW-Authenticate": "Token"})
    if code == 404 or status is None:
        return _error(404, "No such job.")

    last_id = _last_event_id(request)
    if status in _FINAL:
        events, more = await realtime.replay(pool, job_id=str(job_id), after=last_id)
        if not events:
            return HttpResponse(status=204)
        return EventStreamResponse(realtime.replay_stream(events, more=more))
    try:
        sub = await realtime.get_hub().subscribe(str(job_id))
    except realtime.RealtimeUnavailable as exc:
        return _error(503, str(exc), **{"Retry-After": "5"})
    return EventStreamResponse(realtime.stream(sub, pool=pool, last_id=last_id),
                               on_close=sub.close)


job_events.csrf_exempt = True  # type: ignore[attr-defined]  # GET only; no state changes


def schema_hook(result: dict[str, Any], generator: Any, request: Any, public: bool
                ) -> dict[str, Any]:
    """Document the stream in /api/schema/ (drf-spectacular sees DRF views only)."""
    event = {"type": "string", "description": "text/event-stream: `id:`, `event:` and `data:` "
             "lines per event; `data` is JSON (see the description)."}
    result.setdefault("paths", {})["/api/jobs/{id}/events"] = {
        "get": {
            "operationId": "jobs_events_stream",
            "summary": "Follow a job live (server-sent events)",
            "description": (__doc__ or "").split("\n\n", 1)[1].strip(),
            "tags": ["jobs"],
            "parameters": [
                {"in": "path", "name": "id", "required": True,
                 "schema": {"type": "string", "format": "uuid"}},
                {"in": "header", "name": "Last-Event-ID", "required": False,
                 "schema": {"type": "integer"},
                 "description": "Send only the events after this one."},
                {"in": "query", "name": "last_event_id", "required": False,
                 "schema": {"type": "integer"}, "description": "As Last-Event-ID."},
            ],
            "security": [{"tokenAuth": []}, {"cookieAuth": []}],
            "responses": {
                "200": {"description": "The event stream",
                        "content": {"text/event-stream": {"schema": event}}},
                "204": {"description": "The job has ended and nothing is left to send"},
                "401": {"description": "Not authenticated"},
                "404": {"description": "No such job (or another organization's)"},
                "503": {"description": "No live updates now: poll GET /api/jobs/{id}"},
            },
        }
    }
    return result
