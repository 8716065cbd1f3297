"""The worker's thread pool for sync job handlers, sized to its concurrency.

Procrastinate runs a sync task through asgiref's `sync_to_async`
(`thread_sensitive=False`), that is on the event loop's *default* executor:
a `ThreadPoolExecutor` of `min(32, cpus + 4)` threads, so a worker on two
cores ran at most 6 sync jobs at once whatever its `concurrency` said.
`size_default_executor`, a Procrastinate worker middleware (see
`PROCRASTINATE_WORKER_DEFAULTS`), gives the worker's loop a default executor
of exactly `worker.concurrency` threads before its first job runs, so
`WORKER_CONCURRENCY=20` runs 20 sync jobs at once.

This module imports nothing of Django's models: the settings import it.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

# One pool per event loop (a worker's loop; the test suite runs several).
_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, ThreadPoolExecutor] = (
    weakref.WeakKeyDictionary()
)


def ensure_pool(loop: asyncio.AbstractEventLoop, threads: int) -> ThreadPoolExecutor:
    """The loop's default executor, with at least `threads` threads."""
    pool = _pools.get(loop)
    if pool is not None and pool._max_workers >= threads:
        return pool
    new = ThreadPoolExecutor(max_workers=max(int(threads), 1), thread_name_prefix="job")
    loop.set_default_executor(new)
    _pools[loop] = new
    if pool is not None:
        pool.shutdown(wait=False)  # running jobs finish on their threads
    return new


def pool_size(loop: asyncio.AbstractEventLoop) -> int | None:
    pool = _pools.get(loop)
    return pool._max_workers if pool is not None else None


async def size_default_executor(
    call_next: Callable[[], Awaitable[Any]], context: Any, worker: Any
) -> Any:
    """Worker middleware: sync jobs run on `worker.concurrency` threads, no fewer."""
    ensure_pool(asyncio.get_running_loop(), worker.concurrency)
    return await call_next()
