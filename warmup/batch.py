"""A bounded, concurrent run over comparisons: `concurrency` at a time, each failure kept.

`abatch_run` is the async handlers' form (an LLM call per item awaits the
provider, no thread held; sync items run on an executor through `sync_work`).
`batch_run` is the threaded form, for sync callers: the ORM is synchronous.
Each thread has its own Django connection, closed after every item so a run of
fifty leaves no connection behind (the pool's threads are not Django's request
threads: nobody else would close it).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from django.db import connection

T = TypeVar("T")


@dataclass
class BatchResult(Generic[T]):
    done: list[T] = field(default_factory=list)
    failed: list[tuple[T, BaseException]] = field(default_factory=list)
    # Items never started because `should_stop` said so.
    skipped: list[T] = field(default_factory=list)
    max_in_flight: int = 0


def batch_run(
    items: Sequence[T],
    work: Callable[[T], object],
    *,
    concurrency: int,
    should_stop: Callable[[], bool] = lambda: False,
    on_result: Callable[[T, BaseException | None], None] | None = None,
) -> BatchResult[T]:
    """Run `work(item)` for each item, at most `concurrency` at once.

    One item's exception is recorded, never raised: one failing comparison
    does not fail the run. `should_stop` is asked before each item (a lost
    lock, an abort request); once it says yes, the rest are skipped.
    `on_result` is called under a lock, one call at a time.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be >= 1")
    result: BatchResult[T] = BatchResult()
    guard = threading.Lock()
    in_flight = 0
    stopped = threading.Event()

    def one(item: T) -> None:
        nonlocal in_flight
        try:
            if stopped.is_set() or should_stop():
                stopped.set()
                with guard:
                    result.skipped.append(item)
                return
            with guard:
                in_flight += 1
                result.max_in_flight = max(result.max_in_flight, in_flight)
            error: BaseException | None = None
            try:
                work(item)
            except Exception as exc:
                error = exc
            finally:
                with guard:
                    in_flight -= 1
            with guard:
                if error is None:
                    result.done.append(item)
                else:
                    result.failed.append((item, error))
                if on_result is not None:
                    on_result(item, error)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="warmup") as pool:
        for future in [pool.submit(one, item) for item in items]:
            future.result()
    return result


async def abatch_run(
    items: Sequence[T],
    work: Callable[[T], Awaitable[object]],
    *,
    concurrency: int,
    should_stop: Callable[[], Awaitable[bool]] | None = None,
    on_result: Callable[[T, BaseException | None], Awaitable[None]] | None = None,
) -> BatchResult[T]:
    """`batch_run` for async handlers: `await work(item)`, at most `concurrency` at once.

    The same rules: one item's exception is recorded, never raised;
    `should_stop` is awaited before each item and, once it says yes, the rest
    are skipped; `on_result` is awaited after each item. No threads: an item
    waiting on the LLM holds nothing. Work that is sync (ORM, CPU) goes through
    an executor the caller chooses (`sync_work`).
    """
    if concurrency < 1:
        raise ValueError("concurrency must be >= 1")
    result: BatchResult[T] = BatchResult()
    slots = asyncio.Semaphore(concurrency)
    in_flight = 0
    stopped = False

    async def one(item: T) -> None:
        nonlocal in_flight, stopped
        async with slots:
            if stopped or (should_stop is not None and await should_stop()):
                stopped = True
                result.skipped.append(item)
                return
            in_flight += 1
            result.max_in_flight = max(result.max_in_flight, in_flight)
            error: BaseException | None = None
            try:
                await work(item)
            except Exception as exc:
                error = exc
            finally:
                in_flight -= 1
            if error is None:
                result.done.append(item)
            else:
                result.failed.append((item, error))
            if on_result is not None:
                await on_result(item, error)

    await asyncio.gather(*(one(item) for item in items))
    return result


def sync_work(work: Callable[[T], object], pool: Executor) -> Callable[[T], Awaitable[object]]:
    """`work` (sync: the ORM, CPU) as an awaitable on `pool`, its Django connection
    closed after each item (the pool's threads are nobody else's to close)."""

    def closing(item: T) -> object:
        try:
            return work(item)
        finally:
            connection.close()

    async def run(item: T) -> object:
        return await asyncio.get_running_loop().run_in_executor(pool, closing, item)

    return run
