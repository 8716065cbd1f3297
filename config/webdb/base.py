"""Django's PostgreSQL backend, with the pool's `check=` callback taken from
`OPTIONS["pool"]["check"]`.

Django builds its psycopg pool with `check=` fixed by CONN_HEALTH_CHECKS (psycopg's
`check_connection`, a round trip on every getconn, or nothing), so a check of our
own cannot go through the pool options. The web server (config/asgi.py) uses this
engine to skip the round trip for connections used a moment ago
(WEB_DB_CHECK_IDLE_SECONDS); everything else is Django's.
"""

from __future__ import annotations

import select
import time
import weakref
from typing import Any

from django.db.backends.postgresql import base

# Django's stubs do not describe the pool (Django 5.1+): typed loosely.
_PostgreSQL: Any = base.DatabaseWrapper


class DatabaseWrapper(_PostgreSQL):
    @property
    def pool(self) -> Any:
        options = self.settings_dict["OPTIONS"].get("pool")
        if isinstance(options, dict) and "check" in options and (
                self.alias not in self._connection_pools):
            from psycopg_pool import ConnectionPool

            kwargs = self.get_connection_params()
            kwargs["autocommit"] = True  # as Django's: it sets autocommit itself later
            self._connection_pools.setdefault(self.alias, ConnectionPool(
                kwargs=kwargs, open=False, configure=self._configure_connection, **options))
        return super().pool


class RecentUseCheck:
    """The web pool's health check (psycopg_pool's public `check=` and `reset=`
    callbacks): a connection returned to the pool less than `seconds` ago is
    handed out as it is; one idle longer gets psycopg's check (a round trip)
    first. psycopg's own `check_connection` on every getconn is one round trip
    per request; a connection used a moment ago is as good as that check says,
    unless the server has since closed it (a restart, a terminated backend): an
    idle connection has nothing to read, so a readable socket (the server's
    goodbye, or EOF) sends it to the full check, which replaces it. That test
    is one poll() call, no round trip.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._returned: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()
        self.checked = 0  # how many times the round trip ran (tests)

    def reset(self, conn: Any) -> None:
        self._returned[conn] = time.monotonic()

    def check(self, conn: Any) -> None:
        from psycopg_pool import ConnectionPool

        returned = self._returned.get(conn)
        if (returned is not None and time.monotonic() - returned < self.seconds
                and not _readable(conn)):
            return
        self.checked += 1
        ConnectionPool.check_connection(conn)


def _readable(conn: Any) -> bool:
    """Whether an idle connection's socket has something to read (or is gone)."""
    try:
        poller = select.poll()
        poller.register(conn.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
        return bool(poller.poll(0))
    except Exception:
        return True  # cannot tell: check
