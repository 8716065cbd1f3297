"""The worker's thread pool for sync job handlers, sized to its concurrency.

Procrastinate runs a sync task through asgiref's `sync_to_async`
(`thread_sensitive=False`), that is on the event loop's *default* executor:
a `ThreadPoolExecutor` of `min(32, cpus + 4)` threads, so a worker on two
cores ran at most 6 sync jobs at once whatever its `concurrency` said.
`size_default_executor`, a Procrastinate worker middleware (see
`PROCRASTINATE_WORKER_DEFAULTS`), gives the worker's loop a default executor
of exactly `worker.concurrency` threads before its first job runs, so
`WORKER_CONCURRENCY=20` runs 20 sync jobs at once.

The same middleware takes the platform's own task (`jobs.run`) out of
Procrastinate's Django clean-up around async tasks (`close_db_connections_async`:
two hops per job to asgiref's one shared thread, to close the *event loop's*
Django connection). `jobs.run` never uses that connection: its database work
runs on `jobs.aio`'s threads and its sync handlers on this pool, each through
Procrastinate's own sync clean-up (jobs/aruntime.py). Every other async task
keeps the clean-up.

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


PLATFORM_TASK = "jobs.run"  # jobs.jobsql.RUN_TASK_NAME (not imported: no models here)


def _loop_cleanup_except_platform(cleanup: Any) -> Any:
    """Procrastinate's async Django clean-up middleware, for every task but `jobs.run`."""

    async def middleware(call_next: Callable[[], Awaitable[Any]], context: Any,
                         worker: Any) -> Any:
        if context.task.name == PLATFORM_TASK:
            return await call_next()
        return await cleanup(call_next, context, worker)

    middleware.plinth_wraps = cleanup  # type: ignore[attr-defined]
    return middleware


def skip_loop_cleanup_for_platform(worker: Any) -> None:
    """Wrap the worker's async Django clean-up middleware (once) so `jobs.run` skips it."""
    from procrastinate.contrib.django.db_cleanup import close_db_connections_async

    chain = worker.task_middleware
    for i, mw in enumerate(chain):
        if mw is close_db_connections_async:
            chain[i] = _loop_cleanup_except_platform(mw)


async def size_default_executor(
    call_next: Callable[[], Awaitable[Any]], context: Any, worker: Any
) -> Any:
    """Worker middleware: sync jobs run on `worker.concurrency` threads, no fewer;
    `jobs.run` skips the event loop's Django clean-up (see the module's doc)."""
    skip_loop_cleanup_for_platform(worker)  # a no-op once done
    ensure_pool(asyncio.get_running_loop(), worker.concurrency)
    return await call_next()
