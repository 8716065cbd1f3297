"""Fixtures: organizations and users, API clients, and real Procrastinate workers.

Worker tests use `transaction=True` databases: the worker talks to Postgres on
its own connections, so it must see committed rows. Procrastinate's tables are
not flushed between such tests (they are unmanaged), so they are truncated here.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from procrastinate.contrib.django import app as procrastinate_app
from procrastinate.periodic import PeriodicRegistry
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from jobs.models import Job, Membership, Organization
from tests.fakes.fixtures import (  # noqa: F401  (fixtures for every test folder)
    fake_anthropic,
    fake_jira,
    fake_openai,
    fake_pagerduty,
    fake_sentry,
    fake_slack,
)


@pytest.fixture(scope="session", autouse=True)
def _no_persistent_connections() -> None:
    # Worker threads must not keep connections open past a test (the test
    # database could not be dropped); production keeps them (CONN_MAX_AGE).
    from django.conf import settings

    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0


@pytest.fixture(scope="session", autouse=True)
def _drop_stray_connections(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Close connections worker threads left behind, so the test database can be dropped."""
    yield
    from django.db import connections

    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        connections.close_all()


@pytest.fixture(autouse=True)
def _fast_platform_settings(settings: Any) -> None:
    settings.JOBS = {**settings.JOBS, "RETRY_BASE_SECONDS": 0.0}


@pytest.fixture
def clean_queue(transactional_db: None) -> Iterator[None]:
    yield
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE procrastinate_events, procrastinate_periodic_defers, "
            "procrastinate_jobs, procrastinate_workers RESTART IDENTITY CASCADE"
        )


@pytest.fixture
def org(db: None) -> Organization:
    return Organization.objects.create(name="Acme", slug="acme")


@pytest.fixture
def other_org(db: None) -> Organization:
    return Organization.objects.create(name="Globex", slug="globex")


@pytest.fixture
def make_user(db: None) -> Callable[..., Any]:
    counter = {"n": 0}

    def make(organization: Organization | None = None, **extra: Any) -> Any:
        counter["n"] += 1
        user = get_user_model().objects.create_user(
            username=extra.pop("username", f"user{counter['n']}"), password="pw", **extra
        )
        if organization is not None:
            Membership.objects.create(user=user, organization=organization)
        return user

    return make


@pytest.fixture
def user(make_user: Callable[..., Any], org: Organization) -> Any:
    return make_user(org)


@pytest.fixture
def api(user: Any) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def worker_app() -> Any:
    """The project's app on a worker connector, without its schedules.

    A worker also runs Procrastinate's periodic deferrer, which defers any tick
    of the last 10 minutes: a test run shortly after one of the product's
    schedules (the AI warmup on Sundays at 03:00 UTC, the nightly forecasts at
    02:00, the hourly prune) found that tick's job beside its own. Tests of
    the schedules defer their ticks themselves (PeriodicDeferrer), and the
    fault suite's worker processes run them for real.
    """
    app = procrastinate_app.with_connector(
        procrastinate_app.connector.get_worker_connector())  # type: ignore[attr-defined]
    app.periodic_registry = PeriodicRegistry()
    return app


def drain(*, concurrency: int = 1, queues: list[str] | None = None) -> None:
    """Run a real worker until the queue is empty (jobs scheduled later excluded)."""
    with worker_app() as app:
        app.run_worker(
            wait=False,
            concurrency=concurrency,
            queues=queues,
            install_signal_handlers=False,
            listen_notify=False,
        )


class BackgroundWorker:
    """A real worker on its own thread and event loop, until stop()."""

    def __init__(self, **options: Any) -> None:
        self.options = {
            "wait": True,
            "install_signal_handlers": False,
            "fetch_job_polling_interval": 0.1,
            "abort_job_polling_interval": 0.1,
            **options,
        }
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._task: asyncio.Task[Any] | None = None
        self._ready = threading.Event()
        self.error: BaseException | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def main() -> None:
            app = worker_app()
            async with app.open_async():
                self._task = asyncio.current_task()
                self._ready.set()
                await app.run_worker_async(**self.options)

        try:
            self._loop.run_until_complete(main())
        except asyncio.CancelledError:
            pass
        except BaseException as exc:  # surfaced by stop()
            self.error = exc
        finally:
            self._ready.set()
            self._loop.close()

    def start(self) -> BackgroundWorker:
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        if self._task is not None and not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(self._task.cancel)
            except RuntimeError:
                pass
        self._thread.join(30)
        assert not self._thread.is_alive(), "worker did not stop"


@pytest.fixture
def background_worker(clean_queue: None) -> Iterator[Callable[..., BackgroundWorker]]:
    workers: list[BackgroundWorker] = []

    def start(**options: Any) -> BackgroundWorker:
        worker = BackgroundWorker(**options).start()
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


def create_diagnostic(org: Any, **input: Any) -> Job:
    """A `diagnostic` job of `org` with `input` (job_create validates it)."""
    from jobs import lifecycle

    return lifecycle.job_create(job_type="diagnostic", input=input, organization=org)


def job_status(job_id: Any) -> str:
    return Job.objects.values_list("status", flat=True).get(id=job_id)


def subprocess_env(**extra: str) -> dict[str, str]:
    """Environment for a child process (a worker) that must use the test database."""
    import os

    env = dict(os.environ)
    env["DATABASE_NAME"] = connection.settings_dict["NAME"]
    env["CONN_MAX_AGE"] = "0"
    env.update(extra)
    return env


class WorkerProcess:
    """`manage.py procrastinate worker` in its own process, as production runs it."""

    def __init__(self, *args: str, **env: str) -> None:
        import subprocess
        import sys
        from pathlib import Path

        base = Path(__file__).resolve().parent.parent
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "procrastinate", "worker", *args],
            cwd=base,
            env=subprocess_env(**env),
        )

    def kill(self) -> None:
        import signal

        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self, timeout: float = 30) -> int:
        import signal

        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.kill()


@pytest.fixture
def worker_process(clean_queue: None) -> Iterator[Callable[..., WorkerProcess]]:
    procs: list[WorkerProcess] = []

    def start(*args: str, **env: str) -> WorkerProcess:
        proc = WorkerProcess(*args, **env)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        proc.stop()


# --- a real browser against the real ASGI server, signed in (the page tests of
# tests/web and tests/competitors; tests/reports and tests/realtime bring their own
# server) ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def asgi_server(django_db_setup: None) -> Iterator[Any]:
    from tests.realtime.support import shared_server, stop_shared_server

    yield shared_server()
    stop_shared_server()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from tests.browser import chromium

    yield from chromium()


@pytest.fixture
def page(browser: Any, asgi_server: Any, user: Any) -> Iterator[Any]:
    """A browser page signed in as `user`."""
    from tests.browser import logged_in_page

    yield from logged_in_page(browser, asgi_server.url, user)
