"""The fast answer to GET /api/jobs/{id} (config.asgi's route) says exactly what
DRF says (through the general path: Django's WSGI handler on the thread pool),
and leaves everything else to DRF."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rest_framework.authtoken.models import Token


def _import_asgi() -> Any:
    """config.asgi as a test imports it: without the server's change to the
    settings (its connection pool), which would apply to every later test of
    the run. The setting is put back at once, so a server another test
    starts as a subprocess gets its usual settings."""
    from django.conf import settings

    saved = settings.WEB_DB_POOL_SIZE
    settings.WEB_DB_POOL_SIZE = 0
    try:
        import config.asgi as module
    finally:
        settings.WEB_DB_POOL_SIZE = saved
    return module


asgi = _import_asgi()
from jobs import lifecycle  # noqa: E402
from jobs.api import poll  # noqa: E402


def _call(app: Any, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    async def run() -> tuple[int, dict[str, str], bytes]:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "GET", "scheme": "http", "path": path, "raw_path": path.encode(),
            "query_string": b"", "root_path": "", "client": ("127.0.0.1", 1),
            "server": ("testserver", 80),
            "headers": [(b"host", b"testserver")]
            + [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        }
        sent: list[dict[str, Any]] = []
        first = [{"type": "http.request", "body": b"", "more_body": False}]
        done = asyncio.Event()

        async def receive() -> dict[str, Any]:
            if first:
                return first.pop()
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        try:
            await app(scope, receive, send)
        finally:
            done.set()
            await poll.close_connection_pool()
        start = sent[0]
        body = b"".join(m.get("body", b"") for m in sent[1:])
        return start["status"], {k.decode().lower(): v.decode() for k, v in start["headers"]}, body

    return asyncio.run(run())


def _fresh_pools(monkeypatch: Any) -> None:
    monkeypatch.setattr(poll, "_pools", {})


@pytest.fixture
def job_and_token(transactional_db: None, user: Any, other_org: Any, make_user: Any) -> Any:
    org = user.memberships.first().organization
    job = lifecycle.job_create(
        job_type="diagnostic", input={"steps": 1}, organization=org, user=user
    )
    started = lifecycle.job_start(job.id)
    assert started is not None
    lifecycle.job_complete(job.id, attempt=started.attempts, output={"ok": True, "n": 1})
    outsider = make_user(other_org)
    return job, Token.objects.create(user=user).key, Token.objects.create(user=outsider).key


def test_route_answers_like_django(job_and_token: Any, monkeypatch: Any) -> None:
    _fresh_pools(monkeypatch)
    job, token, _ = job_and_token
    path = f"/api/jobs/{job.id}"
    headers = {"Authorization": f"Token {token}"}
    fast = _call(asgi.application, path, headers)
    monkeypatch.setattr(asgi, "_poll_headers", None)  # the route off: Django and DRF
    slow = _call(asgi.application, path, headers)
    assert fast[0] == slow[0] == 200
    assert fast[2] == slow[2]
    assert b'"output":{"n":1,"ok":true}' in fast[2]  # jsonb orders keys
    assert fast[1] == slow[1]


def test_not_modified_like_django(job_and_token: Any, monkeypatch: Any) -> None:
    _fresh_pools(monkeypatch)
    job, token, _ = job_and_token
    path = f"/api/jobs/{job.id}"
    etag = _call(asgi.application, path, {"Authorization": f"Token {token}"})[1]["etag"]
    headers = {"Authorization": f"Token {token}", "If-None-Match": f'W/"other", {etag}'}
    fast = _call(asgi.application, path, headers)
    monkeypatch.setattr(asgi, "_poll_headers", None)
    slow = _call(asgi.application, path, headers)
    assert fast[0] == slow[0] == 304
    assert fast[2] == slow[2] == b""
    assert fast[1] == slow[1]
    assert "content-type" not in fast[1]


@pytest.mark.parametrize(
    ("who", "extra", "expected"),
    [
        ("bad", {}, 401),  # DRF's "Invalid token."
        ("outsider", {}, 404),  # another organization's job
        ("owner", {"Accept": "text/html"}, 200),  # the browsable API: DRF renders it
    ],
)
def test_everything_else_goes_to_drf(
    job_and_token: Any, monkeypatch: Any, who: str, extra: dict[str, str], expected: int
) -> None:
    _fresh_pools(monkeypatch)
    job, token, outsider = job_and_token
    key = {"bad": "nope", "outsider": outsider, "owner": token}[who]
    code, headers, body = _call(
        asgi.application, f"/api/jobs/{job.id}", {"Authorization": f"Token {key}", **extra}
    )
    assert code == expected
    if expected == 200:
        assert headers["content-type"].startswith("text/html")
    else:
        assert headers["content-type"] == "application/json"
        assert b"detail" in body



def test_sync_views_on_the_thread_pool_async_views_on_the_loop(job_and_token: Any) -> None:
    """The general path: every sync view (DRF's) runs whole on the WSGI handler's
    thread pool, the event stream (an async view) stays on Django's ASGI handler."""
    job, token, _ = job_and_token
    assert asgi._async_view(f"/api/jobs/{job.id}/events") is True
    assert asgi._async_view("/api/jobs") is False
    assert asgi._async_view(f"/api/jobs/{job.id}") is False
    assert asgi._async_view("/no/such/page") is False
    code, headers, body = _call(asgi.application, "/api/jobs", {"Authorization": f"Token {token}"})
    assert code == 200
    assert headers["content-type"] == "application/json"
    assert headers["x-frame-options"] == "DENY"  # Django's middleware ran
    assert f'"id":"{job.id}"'.encode() in body
    code, _, body = _call(asgi.application, "/api/health", {})
    assert (code, body) == (200, b'{"status": "ok"}')
