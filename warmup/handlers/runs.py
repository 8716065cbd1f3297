"""The warmup job handlers (async): the seed's flows, under their locks, with a run log each.

Forecasts and AI explanations: take the lock, select the popular
comparisons, refresh them `concurrency` at a time, release, log. On demand:
take the comparison's lock, generate what is missing or stale for its current
data hash, release, log.

The LLM calls (AI explanations, on-demand insights) await the provider on the
async client: `concurrency` calls in flight hold no thread and no connection.
A forecast is CPU and ORM work: it runs on a thread pool of `concurrency`
threads of its own (`warmup.batch.sync_work`), each thread's connection
closed after each comparison. The locks, reads and run-log writes are short
trips to the worker's database pool (`jobs.aio`), except the lock's: an advisory
lock belongs to a session, so each run keeps one thread and connection for it
(`AsyncWarmupLock`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings

from jobs import aio
from jobs.aruntime import AsyncJobContext
from jobs.errors import JobAbort, PermanentJobError, RetryableJobError
from jobs.models import RunLog
from jobs.runlogs import arun_log, run_log_count
from warmup import names, selectors, services
from warmup.batch import abatch_run, sync_work
from warmup.locks import AsyncWarmupLock
from warmup.models import Comparison


def _holder(ctx: AsyncJobContext) -> str:
    return f"job:{ctx.job_id}:attempt:{ctx.attempt}"


def _lost(lock: AsyncWarmupLock) -> str:
    return f"Stopped: {lock.name} was held past its maximum of {lock.seconds:g} s"


def _note(log: RunLog, message: str) -> None:
    """A run-level error: kept in the metadata, and in the errors while there is room."""
    log.metadata["stopped"] = message
    if len(log.errors) < RunLog.MAX_ERRORS:
        log.errors.append(message)


async def _batch(
    ctx: AsyncJobContext,
    *,
    job_type: str,
    lock_name: str,
    lock_seconds: float,
    select: Callable[[int], list[Comparison]],
    work: Callable[[Comparison], Awaitable[object]],
) -> dict[str, Any]:
    limit, concurrency = int(ctx.input["limit"]), int(ctx.input["concurrency"])
    lock = AsyncWarmupLock(lock_name, holder=_holder(ctx), seconds=lock_seconds)
    async with arun_log(job_type=job_type, job=ctx.job, metadata={
        "limit": limit, "concurrency": concurrency, "lock": lock_name,
        "lockSeconds": lock_seconds, "source": ctx.job.source,
    }) as log:
        if not await lock.acquire():
            await lock.release()  # its thread and connection
            # Another run is at work: this one did nothing, and nothing failed.
            message = f"Skipped: {lock_name} is held by another run"
            log.status = RunLog.Status.SKIPPED
            log.metadata["stopped"] = message
            return {"skipped": message, "runLog": log.id}

        result = None
        try:
            items = await aio.db(select, limit)
            total = len(items)
            log.metadata["selected"] = [c.slug for c in items]
            await ctx.progress(1, f"Warming {total} comparisons, {concurrency} at a time")

            async def on_result(comparison: Comparison, error: BaseException | None) -> None:
                run_log_count(log, ok=error is None,
                              error=None if error is None else f"{comparison.slug}: {error}")
                finished = log.processed + log.failed
                try:
                    await ctx.progress(min(99, 1 + 98 * finished // max(1, total)),
                                       f"{finished} of {total} comparisons ({log.failed} failed)")
                except JobAbort:
                    pass  # should_stop sees it before the next comparison

            async def should_stop() -> bool:
                return ctx.should_abort() or not await lock.held()

            result = await abatch_run(items, work, concurrency=concurrency,
                                      should_stop=should_stop, on_result=on_result)
            if not await lock.held():
                _note(log, _lost(lock))
                raise PermanentJobError(_lost(lock))
            await ctx.check_abort()  # cancelled or past the type's maximum: the platform says
            if result.failed and not result.done:
                first = result.failed[0]
                raise PermanentJobError(f"All {len(result.failed)} comparisons failed; "
                                        f"first: {first[0].slug}: {first[1]}")
        finally:
            if result is not None:
                log.metadata.update(maxInFlight=result.max_in_flight,
                                    skipped=[c.slug for c in result.skipped])
            await lock.release()
    return {"processed": log.processed, "failed": log.failed, "errors": log.errors,
            "maxInFlight": result.max_in_flight, "runLog": log.id}


def _fresh_copy(comparison: Comparison) -> Comparison | None:
    # Re-read before the work: the series may have changed since the selection,
    # and the cache entry must carry the hash it was computed from.
    return Comparison.objects.filter(id=comparison.id).first()


def _forecast_one(comparison: Comparison) -> None:
    current = _fresh_copy(comparison)
    if current is not None:
        services.forecast_refresh(comparison=current)


async def run_forecasts(ctx: AsyncJobContext) -> dict[str, Any]:
    concurrency = int(ctx.input["concurrency"])
    # CPU and ORM work: `concurrency` threads of this run's own, not the database pool's.
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="warmup")
    try:
        return await _batch(
            ctx, job_type=names.FORECASTS, lock_name=names.FORECASTS_LOCK,
            lock_seconds=settings.WARMUP_FORECASTS_LOCK_SECONDS,
            select=lambda limit: list(selectors.comparisons_for_forecasts(limit=limit)),
            work=sync_work(_forecast_one, pool),
        )
    finally:
        pool.shutdown(wait=False)  # never block the loop; its items are done or skipped


async def run_ai_explanations(ctx: AsyncJobContext) -> dict[str, Any]:
    async def one(comparison: Comparison) -> None:
        current = await aio.db(_fresh_copy, comparison)
        if current is not None:
            await services.ainsight_refresh(comparison=current, job=ctx.job)

    return await _batch(
        ctx, job_type=names.AI_EXPLANATIONS, lock_name=names.AI_EXPLANATIONS_LOCK,
        lock_seconds=settings.WARMUP_AI_LOCK_SECONDS,
        select=lambda limit: list(selectors.comparisons_for_ai_explanations(limit=limit)),
        work=one,
    )


async def run_on_demand(ctx: AsyncJobContext) -> dict[str, Any]:
    comparison = await aio.db(lambda: Comparison.objects.filter(slug=ctx.input["slug"]).first())
    if comparison is None:
        return {"skipped": "The comparison no longer exists."}
    lock = AsyncWarmupLock(names.on_demand_lock(comparison.slug, comparison.data_hash),
                      holder=_holder(ctx), seconds=settings.WARMUP_ON_DEMAND_LOCK_SECONDS)
    async with arun_log(job_type=names.ON_DEMAND, job=ctx.job, metadata={
        "slug": comparison.slug, "dataHash": comparison.data_hash,
        "requestedDataHash": ctx.input.get("data_hash", ""), "lock": lock.name,
    }) as log:
        if not await lock.acquire():
            await lock.release()  # its thread and connection
            # Another warmup of the same comparison and data is at work: its result is ours.
            log.status = RunLog.Status.SKIPPED
            log.metadata["skipped"] = f"{lock.name} is held by another run"
            return {"skipped": f"{lock.name} is held by another run", "runLog": log.id}

        generated: list[str] = []
        log.metadata["generated"] = generated  # filled in as it goes
        try:
            pack = await aio.db(selectors.cached_pack, comparison)
            steps: list[tuple[str, bool, Callable[[], Awaitable[object]]]] = [
                ("forecast", pack.forecast_state != selectors.FRESH,
                 lambda: aio.db(services.forecast_refresh, comparison=comparison)),
                ("insights", pack.insight_state != selectors.FRESH,
                 lambda: services.ainsight_refresh(comparison=comparison, job=ctx.job)),
            ]
            errors: list[Exception] = []
            for index, (name, missing, generate) in enumerate(steps):
                if not missing:
                    continue
                if not await lock.held():
                    _note(log, _lost(lock))
                    raise PermanentJobError(_lost(lock))
                await ctx.check_abort()
                try:
                    await generate()
                except Exception as exc:  # the other output is still worth generating
                    run_log_count(log, ok=False, error=f"{name}: {exc}")
                    errors.append(exc)
                    await ctx.progress(50 * (index + 1) - 1, f"{name} failed")
                else:
                    run_log_count(log, ok=True)
                    generated.append(name)
                    await ctx.progress(50 * (index + 1) - 1, f"{name} ready")
            if errors:
                # A retry regenerates only what is still missing.
                raise errors[0] if len(errors) == 1 else RetryableJobError(
                    "; ".join(str(e) for e in errors))
        finally:
            await lock.release()
    return {"slug": comparison.slug, "dataHash": comparison.data_hash, "generated": generated,
            "runLog": log.id}
