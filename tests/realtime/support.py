"""A real ASGI server (uvicorn, as `manage.py serve` runs it) on the test database,
and a small server-sent-events client that reads a stream line by line."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.db import connection

BASE = Path(__file__).resolve().parent.parent.parent
SERVER_APP_NAME = "plinth-test-asgi"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class AsgiServer:
    """`uvicorn config.asgi:application` in a child process on the test database."""

    def __init__(self, **env: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        child_env = dict(os.environ)
        child_env.update(
            DATABASE_NAME=connection.settings_dict["NAME"],
            # Every connection the server opens carries this name (libpq reads
            # PGAPPNAME), so the tests can count them; the LISTEN connection
            # names itself plinth-realtime.
            PGAPPNAME=SERVER_APP_NAME,
            LLM_PROVIDER="offline",
            **env,
        )
        child_env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1",
             "--port", str(self.port), "--no-access-log", "--log-level", "warning"],
            cwd=BASE, env=child_env,
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"uvicorn exited with {self.proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("uvicorn did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


_shared: AsgiServer | None = None


def shared_server() -> AsgiServer:
    """One server for the whole test session (the realtime and the browser tests),
    so the database holds exactly one LISTEN connection for the tests to count."""
    global _shared
    if _shared is None or _shared.proc.poll() is not None:
        # Short keep-alives and health checks so the tests see them quickly.
        _shared = AsgiServer(REALTIME_KEEPALIVE_SECONDS="0.5", REALTIME_HEALTHCHECK_SECONDS="2")
    return _shared


def stop_shared_server() -> None:
    global _shared
    if _shared is not None:
        _shared.stop()
        _shared = None


class SSE:
    """One open event stream: `status`, `headers`, and `events()` / `next_event()`."""

    def __init__(self, url: str, *, headers: dict[str, str] | None = None,
                 timeout: float = 15.0) -> None:
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(
            parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        self.conn.request("GET", path, headers={"Accept": "text/event-stream", **(headers or {})})
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.headers = {k.lower(): v for k, v in self.response.getheaders()}
        self.comments: list[str] = []
        self.retry: int | None = None
        self.closed = False

    def next_event(self) -> dict[str, Any] | None:
        """The next event ({id, event, data}), or None when the server closed the stream."""
        fields: dict[str, Any] = {}
        while True:
            raw = self.response.readline()
            if not raw:
                self.closed = True
                return None
            line = raw.decode("utf-8").rstrip("\r\n")
            if not line:
                if "data" in fields:
                    return fields
                fields = {}
                continue
            if line.startswith(":"):
                self.comments.append(line[1:].strip())
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "data":
                fields["data"] = json.loads(value)
            elif name == "id":
                fields["id"] = int(value)
            elif name == "event":
                fields["event"] = value
            elif name == "retry":
                self.retry = int(value)

    def events(self) -> Iterator[dict[str, Any]]:
        while True:
            event = self.next_event()
            if event is None:
                return
            yield event

    def read_until_closed(self) -> list[dict[str, Any]]:
        return list(self.events())

    def close(self) -> None:
        self.conn.close()


def server_connections() -> dict[str, int]:
    """The ASGI server's database connections by application name."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT application_name, count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name IN (%s, %s) "
            "GROUP BY application_name",
            [SERVER_APP_NAME, "plinth-realtime"],
        )
        return dict(cursor.fetchall())
