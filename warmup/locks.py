"""The warmups' locks: a Postgres advisory session lock with a maximum hold.

Two pieces, both from `jobs.locks`:

- the advisory session lock (`pg_try_advisory_lock`) gives exclusion: one
  holder at a time, and a crashed holder frees it at once, because Postgres
  drops a session's advisory locks when its connection dies;
- the lease row (`jobs_locklease`, with `expires_at`) gives the maximum hold:
  past it the holder has lost the lock (`held()` is False), stops at its
  next check and releases. Until it has stopped, which is at most one
  comparison's work (forecasts take milliseconds, an LLM call is bounded by
  LLM_TIMEOUT_SECONDS), the advisory lock keeps a new run out, so two runs
  never overlap.

The advisory lock belongs to the connection of the thread that acquired it:
acquire and release on that thread. `held()` works from any thread.
`AsyncWarmupLock` does so for async handlers (one thread of its own per run).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from django.db import connection

from jobs.locks import (
    lease_acquire,
    lease_held,
    lease_release,
    release_session_lock,
    try_session_lock,
)
from jobs.models import LockLease

T = TypeVar("T")


class WarmupLock:
    def __init__(self, name: str, *, holder: str, seconds: float) -> None:
        self.name = name
        self.holder = holder
        self.seconds = seconds
        self._acquired = False

    def acquire(self) -> bool:
        """Take the lock for at most `seconds`; False while another live holder has it."""
        if not try_session_lock(self.name):
            return False
        try:
            # Holding the advisory lock, this is the only live holder: a lease
            # row still there was left by one that no longer holds it (its
            # release failed half-way, or its server pid was reused), so it
            # is replaced rather than honoured.
            LockLease.objects.filter(name=self.name).exclude(holder=self.holder).delete()
            if not lease_acquire(self.name, holder=self.holder, seconds=self.seconds):
                release_session_lock(self.name)
                return False
        except BaseException:
            release_session_lock(self.name)
            raise
        self._acquired = True
        return True

    def held(self) -> bool:
        """Whether this holder still holds the lock (False once past its maximum)."""
        return self._acquired and lease_held(self.name, holder=self.holder)

    def release(self) -> None:
        """Give the lock back: the lease row first, then the advisory lock."""
        if not self._acquired:
            return
        self._acquired = False
        try:
            lease_release(self.name, holder=self.holder)
        finally:
            if connection.connection is not None and not connection.connection.closed:
                release_session_lock(self.name)

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


class AsyncWarmupLock:
    """A WarmupLock for async handlers, on one thread of its own.

    The advisory lock belongs to a session, so acquire, held and release run
    on a single thread (one connection) kept for the run, not on the worker's
    shared database pool (whose threads differ from call to call). `release`
    closes that connection, so the lock can never outlive the run.
    """

    def __init__(self, name: str, *, holder: str, seconds: float) -> None:
        self.lock = WarmupLock(name, holder=holder, seconds=seconds)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="warmup-lock")

    @property
    def name(self) -> str:
        return self.lock.name

    @property
    def seconds(self) -> float:
        return self.lock.seconds

    async def _on_thread(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn)

    async def acquire(self) -> bool:
        return await self._on_thread(self.lock.acquire)

    async def held(self) -> bool:
        return await self._on_thread(self.lock.held)

    async def release(self) -> None:
        def release_and_close() -> None:
            try:
                self.lock.release()
            finally:
                connection.close()

        try:
            await asyncio.shield(self._on_thread(release_and_close))
        finally:
            self._thread.shutdown(wait=False)
