import functools
import os
import uuid
from inspect import iscoroutinefunction
from typing import Any

from a2wsgi import WSGIMiddleware
from django.conf import settings
from django.core.asgi import get_asgi_application
from django.core.wsgi import get_wsgi_application
from django.urls import Resolver404, resolve

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def _pool_web_connections() -> None:
    """Serve requests from a pool of database connections.

    Django's psycopg pool hands each request a connection and takes it back
    at the end: the web threads (WEB_THREADS) share WEB_DB_POOL_SIZE
    connections, opened once. A connection used within WEB_DB_CHECK_IDLE_SECONDS
    is handed out without the pool's health-check round trip
    (config.webdb.base.RecentUseCheck). WEB_DB_POOL_SIZE=0 keeps the settings as
    they are (a persistent connection per thread, CONN_MAX_AGE). The values are
    settings (config/components/web.py).
    """
    from config.webdb.base import RecentUseCheck

    size = settings.WEB_DB_POOL_SIZE
    db = settings.DATABASES["default"]
    if size <= 0 or db["ENGINE"] != "django.db.backends.postgresql":
        return
    db["CONN_MAX_AGE"] = 0  # the pool keeps the connections instead
    # Django's backend, whose pool takes the check below (config/webdb/base.py).
    db["ENGINE"] = "config.webdb"
    check = RecentUseCheck(settings.WEB_DB_CHECK_IDLE_SECONDS)
    db.setdefault("OPTIONS", {})["pool"] = {
        "min_size": 2, "max_size": size, "timeout": 30,
        "check": check.check, "reset": check.reset,
    }


def _web_statement_timeout() -> None:
    """A request's statement may run at most DB_WEB_STATEMENT_TIMEOUT_SECONDS
    (0: no limit): a runaway query ends (503, jobs.api.errors) instead of holding
    its locks and a connection of the pool. Web sessions only: a worker's job may
    run longer statements, and is bounded by the idle-in-transaction limit and
    its type's maximum duration instead."""
    from django.conf import settings

    ms = int(settings.DB_WEB_STATEMENT_TIMEOUT_SECONDS * 1000)
    db = settings.DATABASES["default"]
    if ms <= 0 or db["ENGINE"] not in ("django.db.backends.postgresql", "config.webdb"):
        return
    options = db.setdefault("OPTIONS", {})
    options["options"] = f"{options.get('options', '')} -c statement_timeout={ms}".strip()


# Before django.setup() (in get_asgi_application) creates the database connections.
_pool_web_connections()
_web_statement_timeout()
# Every view Django runs synchronously (all of DRF) is served by Django's WSGI
# handler, the whole request (middleware, view, rendering) on one thread of a
# pool: one hop from the event loop per request. Django's ASGI handler instead
# starts and joins a new thread per request (asgiref's ThreadSensitiveContext)
# and hops to it and back for every sync middleware: 4-5 ms of CPU a request
# here (bench/ANALYSIS.md, routes). Async views (the event streams) keep
# Django's ASGI handler and the event loop.
django_application = get_asgi_application()
threaded_application = WSGIMiddleware(
    get_wsgi_application(),  # type: ignore[arg-type]  # a WSGI app; its stub types differ
    workers=max(1, settings.WEB_THREADS))


@functools.lru_cache(maxsize=4096)
def _async_view(path: str) -> bool:
    """Whether the view at `path` is a coroutine function (404s: no)."""
    try:
        match = resolve(path)
    except Resolver404:
        return False
    return iscoroutinefunction(match.func)


# The middleware whose response headers the poll route below reproduces; with
# any other in settings.MIDDLEWARE the route stays off and Django answers.
_KNOWN_MIDDLEWARE = {
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
}
_POLL_PREFIX = "/api/jobs/"


def _poll_route_headers() -> list[tuple[bytes, bytes]] | None:
    """The headers Django's middleware adds to a poll's answer (security and
    framing headers, computed by the middleware themselves), or None when the
    route must stay off: unknown middleware, HTTPS redirects, HSTS."""
    from django.conf import settings
    from django.http import HttpRequest, HttpResponse
    from django.middleware.clickjacking import XFrameOptionsMiddleware
    from django.middleware.security import SecurityMiddleware

    if not settings.WEB_POLL_ROUTE:
        return None
    if not set(settings.MIDDLEWARE) <= _KNOWN_MIDDLEWARE:
        return None
    if settings.SECURE_SSL_REDIRECT or settings.SECURE_HSTS_SECONDS:
        return None
    request, response = HttpRequest(), HttpResponse()
    del response["Content-Type"]
    SecurityMiddleware(lambda r: response).process_response(request, response)
    XFrameOptionsMiddleware(lambda r: response).process_response(request, response)
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.items()]


_poll_headers = _poll_route_headers()


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Django, with one route in front: a token client polling a job.

    Django's middleware run under ASGI through a thread per hook (about 4 ms of
    CPU per request on these machines), so `GET /api/jobs/{id}` from a token
    client, the request every open progress bar repeats, is answered here by
    `jobs.api.poll.poll_job` (one prepared query, DRF's serializer and
    renderer) with the headers the middleware would add. Anything it does not
    answer (errors included) goes to Django unchanged: sync views to the WSGI
    handler on the thread pool, async views (event streams) to the ASGI one.
    """
    if (
        _poll_headers is not None
        and scope["type"] == "http"
        and scope["method"] == "GET"
        and scope["path"].startswith(_POLL_PREFIX)
        and not scope.get("query_string")
    ):
        answer = await _poll(scope)
        if answer is not None:
            code, headers, body = answer
            await send(
                {
                    "type": "http.response.start",
                    "status": code,
                    "headers": [
                        *((k.lower().encode("latin-1"), v.encode("latin-1"))
                          for k, v in headers.items()),
                        *_poll_headers,
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
    if scope["type"] == "http" and not _async_view(scope["path"]):
        await threaded_application(scope, receive, send)  # type: ignore[arg-type]
        return
    await django_application(scope, receive, send)


async def _poll(scope: dict[str, Any]) -> tuple[int, dict[str, str], bytes] | None:
    from jobs.api.poll import poll_job

    try:
        job_id = uuid.UUID(scope["path"][len(_POLL_PREFIX):])
    except ValueError:
        return None
    if str(job_id) != scope["path"][len(_POLL_PREFIX):]:
        return None  # only the path Django's <uuid:job_id> converter matches
    headers: dict[str, str] = {}
    for name, value in scope["headers"]:
        key = name.decode("latin-1").lower()
        if key in ("authorization", "accept", "if-none-match"):
            # Repeated headers join with commas, as Django's request.headers does.
            text = value.decode("latin-1")
            headers[key] = f"{headers[key]},{text}" if key in headers else text
    return await poll_job(
        job_id=job_id,
        authorization=headers.get("authorization", ""),
        accept=headers.get("accept", ""),
        if_none_match=headers.get("if-none-match", ""),
    )
