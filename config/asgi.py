import os
import uuid
from typing import Any

from asgiref.sync import markcoroutinefunction, sync_to_async
from django.core.asgi import get_asgi_application
from whitenoise.middleware import WhiteNoiseMiddleware

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def _pool_web_connections() -> None:
    """Serve requests from a pool of database connections.

    Under ASGI, Django runs each request's sync code (every DRF view) on a
    thread of its own, so a persistent per-thread connection (CONN_MAX_AGE > 0)
    is never reused: each request opened one more and the server ran out of
    connections under load (bench/RESULTS.md, the polling figure). Django's
    psycopg pool hands each request a connection and takes it back at the end.
    WEB_DB_POOL_SIZE=0 keeps the settings as they are.
    """
    from django.conf import settings

    raw = os.environ.get("WEB_DB_POOL_SIZE", "8")
    try:
        size = int(raw)
    except ValueError:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"WEB_DB_POOL_SIZE must be an integer, got {raw!r}") from None
    db = settings.DATABASES["default"]
    if size <= 0 or db["ENGINE"] != "django.db.backends.postgresql":
        return
    db["CONN_MAX_AGE"] = 0  # the pool keeps the connections instead
    db.setdefault("OPTIONS", {})["pool"] = {"min_size": 2, "max_size": size, "timeout": 30}


class AsyncWhiteNoiseMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise's middleware, async: the same files, the same responses.

    WhiteNoise's own middleware is sync only, so under ASGI Django ran every
    request (not only static files) through a thread and back to the event
    loop; this one leaves a request that is not a static file on the loop.
    """

    sync_capable = False
    async_capable = True

    def __init__(self, get_response: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(get_response, *args, **kwargs)
        markcoroutinefunction(self)

    async def __call__(self, request: Any) -> Any:  # type: ignore[override]
        if self.autorefresh:
            static_file = await sync_to_async(self.find_file)(request.path_info)
        else:
            static_file = self.files.get(request.path_info)
        if static_file is not None:
            return await sync_to_async(self.serve)(static_file, request)
        return await self.get_response(request)


def _async_static_files() -> None:
    from django.conf import settings

    sync_path = "whitenoise.middleware.WhiteNoiseMiddleware"
    if os.environ.get("WEB_ASYNC_WHITENOISE", "true").lower() in ("0", "false", "no"):
        return
    settings.MIDDLEWARE = [
        f"{__name__}.AsyncWhiteNoiseMiddleware" if path == sync_path else path
        for path in settings.MIDDLEWARE
    ]


def _web_statement_timeout() -> None:
    """A request's statement may run at most DB_WEB_STATEMENT_TIMEOUT_SECONDS
    (0: no limit): a runaway query ends instead of holding its locks and a
    connection of the pool. Web sessions only: a worker's job may run longer
    statements, and is bounded by the idle-in-transaction limit and its type's
    maximum duration instead."""
    from django.conf import settings

    raw = os.environ.get("DB_WEB_STATEMENT_TIMEOUT_SECONDS", "30")
    try:
        ms = int(float(raw) * 1000)
    except ValueError:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            f"DB_WEB_STATEMENT_TIMEOUT_SECONDS must be a number, got {raw!r}") from None
    db = settings.DATABASES["default"]
    if ms <= 0 or db["ENGINE"] != "django.db.backends.postgresql":
        return
    options = db.setdefault("OPTIONS", {})
    options["options"] = f"{options.get('options', '')} -c statement_timeout={ms}".strip()


_pool_web_connections()
_web_statement_timeout()
_async_static_files()
django_application = get_asgi_application()

# The middleware whose response headers the poll route below reproduces; with
# any other in settings.MIDDLEWARE the route stays off and Django answers.
_KNOWN_MIDDLEWARE = {
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    f"{__name__}.AsyncWhiteNoiseMiddleware",
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

    if os.environ.get("WEB_POLL_ROUTE", "true").lower() in ("0", "false", "no"):
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
    `jobs.api.views.poll_job` (the view's own fast path: one prepared query,
    DRF's serializer and renderer) with the headers the middleware would add.
    Anything it does not answer (errors included) goes to Django unchanged.
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
    await django_application(scope, receive, send)


async def _poll(scope: dict[str, Any]) -> tuple[int, dict[str, str], bytes] | None:
    from jobs.api.views import poll_job

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
