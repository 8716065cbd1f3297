"""Database work for async code: a few connections for any number of coroutines.

An async handler (and the async LLM client) waits on the network without a
thread and without a database connection. Its database writes (progress, a
step's result, a transition, a generation log, a rate-limit reservation) are
short: each runs, with the same Django code the sync path uses (so one
transaction per transition and the attempt fencing are the same code), on a
small thread pool of `WORKER_DB_CONNECTIONS` threads. Each thread keeps one
Django connection, so hundreds of jobs waiting on a provider share at most
`WORKER_DB_CONNECTIONS` connections, and a write waits for a free one instead
of opening another.

    await aio.db(lifecycle.job_progress, job_id, attempt=2, progress=50)
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection

T = TypeVar("T")

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def pool_size() -> int:
    return int(getattr(settings, "WORKER_DB_CONNECTIONS", 4))


def executor() -> ThreadPoolExecutor:
    """The process's database pool (created on first use; one per process, any loop)."""
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=pool_size(), thread_name_prefix="jobs-db")
        return _pool


def _run(fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
    try:
        return fn(*args, **kwargs)
    except (OperationalError, InterfaceError):
        # A connection the server closed (a restart): the next call reconnects.
        connection.close()
        raise


async def db(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run the sync database function `fn` on the pool; await its result."""
    loop = asyncio.get_running_loop()
    ctx = contextvars.copy_context()
    call = functools.partial(ctx.run, _run, fn, args, kwargs)
    return await loop.run_in_executor(executor(), call)


def close_connections() -> None:
    """Close each pool thread's connection (tests, shutdown)."""
    pool = _pool
    if pool is None:
        return
    size = pool._max_workers
    barrier = threading.Barrier(size)

    def close() -> None:
        connection.close()
        try:
            barrier.wait(timeout=5)  # one call per thread: each holds the others back
        except threading.BrokenBarrierError:
            pass

    for future in [pool.submit(close) for _ in range(size)]:
        future.result()
