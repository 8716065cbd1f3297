"""Workers that outlive a database restart.

Procrastinate's worker stops when its LISTEN connection cannot be re-opened
at once, or when a query of its own (fetch, finish, retry) fails while the
server is restarting: a `pg_ctl restart` would end every worker process. The
worker connector here waits for the server instead: its queries are retried
on connection errors for up to RECONNECT_SECONDS, and its listener reconnects
with back-off for as long as it runs. Installed by `jobs.apps` on the
Procrastinate app's Django connector (`get_worker_connector`).
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


class ReconnectingConnector(psycopg_connector.PsycopgConnector):
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
        parent = super().execute_query_async
        return await self._retrying(lambda: parent(query, **arguments), "query")

    async def execute_query_one_async(self, query: Any, **arguments: Any) -> Any:
        parent = super().execute_query_one_async
        return await self._retrying(lambda: parent(query, **arguments), "query")

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
