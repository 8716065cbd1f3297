"""The async side of the job runner: `async def` handlers on the worker's loop.

`jobs.run` (jobs/runtime.py) is an async Procrastinate task. For each job it
starts the attempt on the worker's database pool (`jobs.aio`), then:

- a **sync handler** runs as before (`runtime.execute_started`) on the
  worker's thread pool of `concurrency` threads (jobs/workerpool.py), with
  Django's per-thread connection cleaned up around it;
- an **async handler** runs on the event loop with an `AsyncJobContext`,
  whose `progress`, `step`, `check_abort` are awaitable and whose writes (and
  the final transition) go through `jobs.aio`'s few connections: hundreds of
  jobs waiting on a provider hold no thread and no connection. The writes
  are the sync path's own code (one transaction per transition, the attempt
  token on every write, durable steps), so the guarantees are the same.

An async handler is also stopped *while it waits*: Procrastinate cancels an
async task on a cancel request or at shutdown, and a supervisor cancels the
handler's task when the type's maximum duration is up (it checks the abort
conditions at the latest every `ABORT_CHECK_SECONDS`, and at the deadline),
so a cancel lands in the middle of a 60 s LLM call instead of after it.

An async handler's LLM calls leave their generation logs with the job
(`llm.LogSink`): each is written in one INSERT at the start of the job's next
trip to the pool (a step's result, progress, its completion), not in a trip of
its own.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from django.conf import settings
from procrastinate import JobContext as ProcrastinateContext
from procrastinate import exceptions as pexc
from procrastinate.contrib.django.db_cleanup import close_db_connections

from jobs import aio, lifecycle, registry, runtime
from jobs.ai import llm
from jobs.errors import JobAbort, UnknownJobType
from jobs.models import Job

logger = logging.getLogger(__name__)
T = TypeVar("T")

ABORT_CHECK_SECONDS = 1.0  # a safety net: cancels and the deadline do not wait for it


class AsyncJobContext(runtime.JobContext):
    """A JobContext for `async def` handlers: awaitable progress, steps and abort checks.

        async def handler(ctx: AsyncJobContext) -> dict:
            await ctx.progress(10, "Asking the model")
            text = await ctx.step("draft", lambda: llm.acomplete(prompt=...))
            await ctx.check_abort()
            ctx.on_complete(lambda: save(text))  # a sync write, in the completing transaction
            return {"chars": len(text)}
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.llm_logs = llm.LogSink()

    async def db(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`fn` on the worker's database pool, after the job's pending generation logs."""
        logs = self.llm_logs.take()
        if not logs:
            return await aio.db(fn, *args, **kwargs)
        written: list[bool] = []
        try:
            return await aio.db(self._after_logs, logs, written, fn, args, kwargs)
        finally:
            if not written:  # they go with the next write
                self.llm_logs.put_back(logs)

    def _after_logs(self, logs: list[Any], written: list[bool], fn: Callable[..., T],
                    args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
        try:
            llm.write_logs(logs)
            written.append(True)
        except Exception:  # the job's own write comes first
            logger.warning("job %s: generation logs not written yet", self.job_id, exc_info=True)
        return fn(*args, **kwargs)

    async def write_pending_logs(self) -> None:
        """The generation logs still pending when the attempt ends; no more are taken."""
        self.llm_logs.closed = True
        logs = self.llm_logs.take()
        if logs:
            try:
                await aio.db(llm.write_logs, logs)
            except Exception:
                logger.exception("job %s: %d generation logs lost", self.job_id, len(logs))

    async def progress(self, percent: int, message: str | None = None) -> None:  # type: ignore[override]
        """Report progress; raises JobAbort when the job was cancelled or lost."""
        await self.db(runtime.JobContext.progress, self, percent, message)

    async def step(  # type: ignore[override]
        self, name: str, fn: Callable[[], Any]
    ) -> Any:
        """Run `fn` (sync or async) once per job; a retry gets the stored result."""
        self._raise_if_aborted()
        found, stored = await self.db(self._step_lookup, name)
        if found:
            return stored
        started = time.monotonic()
        result = fn()
        if inspect.isawaitable(result):
            result = await result
        duration_ms = int((time.monotonic() - started) * 1000)
        return await self.db(self._step_store, name, result, duration_ms)

    async def check_abort(self) -> None:  # type: ignore[override]
        """Raise JobAbort if the job must stop (and let other jobs run meanwhile)."""
        await asyncio.sleep(0)
        self._raise_if_aborted()

    async def is_current(self) -> bool:  # type: ignore[override]
        return await self.db(runtime.JobContext.is_current, self)

    def partial_writer(self, *, interval: float | None = None) -> PartialWriter:
        """An `on_text` sink for a streamed LLM call: the job's `partial_output`
        grows as the model writes, published at most every `interval` seconds
        (JOBS_PARTIAL_OUTPUT_SECONDS), never once per token."""
        if interval is None:
            interval = float(settings.JOBS.get("PARTIAL_OUTPUT_SECONDS", 0.5))
        return PartialWriter(self, interval)


class PartialWriter:
    """Collects streamed text; writes it to the job (one event) at most every `interval` s.

    Each write is `lifecycle.job_partial_output`: the attempt's token on the
    UPDATE, one JobEvent, one NOTIFY. A job this attempt lost stops the call
    (JobAbort). `await writer.flush()` writes what is pending now.
    """

    def __init__(self, ctx: AsyncJobContext, interval: float) -> None:
        self.ctx = ctx
        self.interval = interval
        self.parts: list[str] = []
        self.written = 0  # characters published
        self.writes = 0
        self._last = 0.0

    @property
    def text(self) -> str:
        return "".join(self.parts)

    async def __call__(self, piece: str) -> None:
        self.parts.append(piece)
        if time.monotonic() - self._last >= self.interval:
            await self.flush()

    async def flush(self) -> None:
        text = self.text
        if len(text) == self.written:
            return
        self._last = time.monotonic()
        job = await self.ctx.db(
            lifecycle.job_partial_output, self.ctx.job_id, attempt=self.ctx.attempt,
            token=self.ctx.token, text=text,
        )
        self.writes += 1
        self.written = len(text)
        if job is None:
            self.ctx._lost()


async def run(job_id: str, pctx: ProcrastinateContext | None) -> Mapping[str, Any] | None:
    """One attempt of a job, sync or async handler."""
    job = await aio.db(runtime.start_attempt, job_id, pctx)
    if job is None:
        return None
    try:
        job_type = registry.get(job.type)
    except UnknownJobType:  # only this case writes (fails the job): a hop to the pool
        await aio.db(runtime.job_type_of, job)
        return None
    handler = job_type.handler_for(job.input or {})
    if not inspect.iscoroutinefunction(handler):
        return await _in_thread(runtime.execute_started, job, job_type, pctx)
    return await _run_async(job, job_type, handler, pctx)


async def _in_thread(fn: Callable[..., T], *args: Any) -> T:
    """`fn` on the worker's thread pool, as Procrastinate runs a sync task.

    A cancellation from Procrastinate (an abort request) does not leave the
    thread behind: the handler sees it through `should_abort()` and the result
    of its attempt (aborted, retried, completed) is what this returns.
    """
    loop = asyncio.get_running_loop()
    # Procrastinate's own sync-task middleware, which reads neither its context nor its worker.
    call = functools.partial(close_db_connections, functools.partial(fn, *args),
                             None, None)  # type: ignore[arg-type]
    future = loop.run_in_executor(None, call)
    while True:
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            if future.done():
                return future.result()
            continue


async def _run_async(
    job: Job, job_type: registry.JobType, handler: registry.Handler,
    pctx: ProcrastinateContext | None,
) -> Mapping[str, Any] | None:
    ctx = AsyncJobContext(job, job_type, pctx)
    with llm.collect_logs(ctx.llm_logs):  # the handler's task copies this context
        task = asyncio.ensure_future(handler(ctx))
    try:
        try:
            output = await _supervise(ctx, task)
        except JobAbort:
            await ctx.db(runtime._on_abort, ctx)
            raise pexc.JobAborted(ctx.abort_reason or "aborted") from None
        except asyncio.CancelledError:
            # Procrastinate cancelled this job's task: an abort request or a shutdown.
            await _stop(task)
            if not ctx.should_abort():
                ctx._abort_reason = "shutdown"
            await ctx.db(runtime._on_abort, ctx)
            raise pexc.JobAborted(ctx.abort_reason or "aborted") from None
        except Exception as exc:
            await ctx.db(runtime._on_error_reconnecting, ctx, exc)
            raise
        return await ctx.db(runtime.finish, ctx, output)
    finally:
        await ctx.write_pending_logs()


async def _supervise(ctx: AsyncJobContext, task: asyncio.Future[Any]) -> Any:
    """The handler's result; JobAbort as soon as the job must stop, even mid-await."""
    while True:
        until_deadline = ctx.job_type.max_duration - ctx.elapsed + 0.01
        timeout = max(0.0, min(ABORT_CHECK_SECONDS, until_deadline))
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if done:
            return task.result()
        if ctx.should_abort():
            await _stop(task)
            raise JobAbort(ctx.abort_reason or "aborted")


async def _stop(task: asyncio.Future[Any]) -> None:
    task.cancel()
    try:
        await task
    except BaseException:  # noqa: BLE001  (cancelled, or it failed while stopping)
        pass
