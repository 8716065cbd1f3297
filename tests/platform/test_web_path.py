"""The web request path's own pieces: the pool check that skips the round trip for
a connection used a moment ago (config.webdb), and a statement timeout answered
503 (jobs.api.errors)."""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest
from django.db import connection
from psycopg_pool import ConnectionPool
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from config.webdb.base import RecentUseCheck
from jobs import realtime, selectors


def _pool(check: RecentUseCheck) -> ConnectionPool:
    return ConnectionPool(kwargs={**realtime.connection_params(), "autocommit": True},
                          min_size=1, max_size=1, check=check.check, reset=check.reset,
                          open=True)


def _pid(pool: ConnectionPool) -> int:
    with pool.connection() as conn:
        row = conn.execute("SELECT pg_backend_pid()").fetchone()
        assert row is not None
        return int(row[0])


def test_a_connection_used_a_moment_ago_is_not_checked(transactional_db: None) -> None:
    check = RecentUseCheck(60.0)
    with _pool(check) as pool:
        first = _pid(pool)  # never returned yet: checked
        assert check.checked == 1
        for _ in range(5):
            assert _pid(pool) == first
        assert check.checked == 1


def test_an_idle_connection_is_checked_and_a_dead_one_replaced(transactional_db: None) -> None:
    check = RecentUseCheck(0.05)
    with _pool(check) as pool:
        first = _pid(pool)
        returned = time.monotonic()
        with psycopg.connect(**realtime.connection_params(), autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", [first])
        while time.monotonic() - returned < 0.1:  # idle past the threshold
            time.sleep(0.01)
        # Idle longer than the threshold: checked, found dead, replaced.
        second = _pid(pool)
        assert second != first
        assert check.checked >= 2


def test_a_connection_the_server_closed_is_replaced_within_the_window(
        transactional_db: None) -> None:
    """Used a moment ago but terminated since (a restart): the socket is readable,
    so the check runs, fails, and the pool hands out a new connection, not an error."""
    check = RecentUseCheck(60.0)
    with _pool(check) as pool:
        first = _pid(pool)
        with psycopg.connect(**realtime.connection_params(), autocommit=True) as other:
            # Waits (up to 5 s) until the backend has exited.
            other.execute("SELECT pg_terminate_backend(%s, 5000)", [first])
        second = _pid(pool)
        assert second != first
        # The first (new), the dead one (found dead), its replacement (new).
        assert check.checked == 3


def test_with_zero_seconds_every_getconn_is_checked(transactional_db: None) -> None:
    check = RecentUseCheck(0.0)
    with _pool(check) as pool:
        for _ in range(3):
            _pid(pool)
        assert check.checked == 3


@pytest.mark.django_db(transaction=True)
def test_a_statement_timeout_answers_503(user: Any, monkeypatch: Any) -> None:
    def slow(types: list[str]) -> dict[str, Any]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(2)")
        return {}

    monkeypatch.setattr(selectors, "measured_durations", slow)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = '100ms'")  # as the web server's sessions
    try:
        started = time.monotonic()
        response = client.get("/api/jobs/types")
        assert time.monotonic() - started < 1.5  # ended by the timeout, not pg_sleep's end
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET statement_timeout")
    assert response.status_code == 503
    assert response.json()["code"] == "statement_timeout"
    assert response["Retry-After"] == "1"
