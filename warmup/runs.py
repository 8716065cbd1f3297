"""The warmup job handlers: the seed's flows, under their locks, with a run log each.

Forecasts and AI explanations: take the lock, select the popular
comparisons, refresh them `concurrency` at a time, release, log. On demand:
take the comparison's lock, generate what is missing or stale for its current
data hash, release, log.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings

from jobs.errors import JobAbort, PermanentJobError, RetryableJobError
from jobs.models import RunLog
from jobs.runlogs import run_log, run_log_count
from jobs.runtime import JobContext
from warmup import names, selectors, services
from warmup.batch import batch_run
from warmup.locks import WarmupLock
from warmup.models import Comparison


def _holder(ctx: JobContext) -> str:
    return f"job:{ctx.job_id}:attempt:{ctx.attempt}"


def _lost(lock: WarmupLock) -> str:
    return f"Stopped: {lock.name} was held past its maximum of {lock.seconds:g} s"


def _note(log: RunLog, message: str) -> None:
    """A run-level error: kept in the metadata, and in the errors while there is room."""
    log.metadata["stopped"] = message
    if len(log.errors) < RunLog.MAX_ERRORS:
        log.errors.append(message)


def _batch(
    ctx: JobContext,
    *,
    job_type: str,
    lock_name: str,
    lock_seconds: float,
    select: Callable[[int], list[Comparison]],
    work: Callable[[Comparison], object],
) -> dict[str, Any]:
    limit, concurrency = int(ctx.input["limit"]), int(ctx.input["concurrency"])
    lock = WarmupLock(lock_name, holder=_holder(ctx), seconds=lock_seconds)
    with run_log(job_type=job_type, job=ctx.job, metadata={
        "limit": limit, "concurrency": concurrency, "lock": lock_name,
        "lockSeconds": lock_seconds, "source": ctx.job.source,
    }) as log:
        if not lock.acquire():
            # Another run is at work: this one did nothing, and nothing failed.
            message = f"Skipped: {lock_name} is held by another run"
            log.status = RunLog.Status.SKIPPED
            log.metadata["stopped"] = message
            return {"skipped": message, "runLog": log.id}

        result = None
        try:
            items = select(limit)
            total = len(items)
            log.metadata["selected"] = [c.slug for c in items]
            ctx.progress(1, f"Warming {total} comparisons, {concurrency} at a time")

            def on_result(comparison: Comparison, error: BaseException | None) -> None:
                run_log_count(log, ok=error is None,
                              error=None if error is None else f"{comparison.slug}: {error}")
                finished = log.processed + log.failed
                try:
                    ctx.progress(min(99, 1 + 98 * finished // max(1, total)),
                                 f"{finished} of {total} comparisons ({log.failed} failed)")
                except JobAbort:
                    pass  # should_stop sees it before the next comparison

            def should_stop() -> bool:
                return ctx.should_abort() or not lock.held()

            result = batch_run(items, work, concurrency=concurrency, should_stop=should_stop,
                               on_result=on_result)
            if not lock.held():
                _note(log, _lost(lock))
                raise PermanentJobError(_lost(lock))
            ctx.check_abort()  # cancelled or past the type's maximum: the platform says which
            if result.failed and not result.done:
                first = result.failed[0]
                raise PermanentJobError(f"All {len(result.failed)} comparisons failed; "
                                        f"first: {first[0].slug}: {first[1]}")
        finally:
            if result is not None:
                log.metadata.update(maxInFlight=result.max_in_flight,
                                    skipped=[c.slug for c in result.skipped])
            lock.release()
    return {"processed": log.processed, "failed": log.failed, "errors": log.errors,
            "maxInFlight": result.max_in_flight, "runLog": log.id}


def _fresh_copy(comparison: Comparison) -> Comparison | None:
    # Re-read on the worker thread: the series may have changed since the
    # selection, and the cache entry must carry the hash it was computed from.
    return Comparison.objects.filter(id=comparison.id).first()


def _forecast_one(comparison: Comparison) -> None:
    current = _fresh_copy(comparison)
    if current is not None:
        services.forecast_refresh(comparison=current)


def run_forecasts(ctx: JobContext) -> dict[str, Any]:
    return _batch(
        ctx, job_type=names.FORECASTS, lock_name=names.FORECASTS_LOCK,
        lock_seconds=settings.WARMUP_FORECASTS_LOCK_SECONDS,
        select=lambda limit: list(selectors.comparisons_for_forecasts(limit=limit)),
        work=_forecast_one,
    )


def run_ai_explanations(ctx: JobContext) -> dict[str, Any]:
    def one(comparison: Comparison) -> None:
        current = _fresh_copy(comparison)
        if current is not None:
            services.insight_refresh(comparison=current, job=ctx.job)

    return _batch(
        ctx, job_type=names.AI_EXPLANATIONS, lock_name=names.AI_EXPLANATIONS_LOCK,
        lock_seconds=settings.WARMUP_AI_LOCK_SECONDS,
        select=lambda limit: list(selectors.comparisons_for_ai_explanations(limit=limit)),
        work=one,
    )


def run_on_demand(ctx: JobContext) -> dict[str, Any]:
    comparison = Comparison.objects.filter(slug=ctx.input["slug"]).first()
    if comparison is None:
        return {"skipped": "The comparison no longer exists."}
    lock = WarmupLock(names.on_demand_lock(comparison.slug, comparison.data_hash),
                      holder=_holder(ctx), seconds=settings.WARMUP_ON_DEMAND_LOCK_SECONDS)
    with run_log(job_type=names.ON_DEMAND, job=ctx.job, metadata={
        "slug": comparison.slug, "dataHash": comparison.data_hash,
        "requestedDataHash": ctx.input.get("data_hash", ""), "lock": lock.name,
    }) as log:
        if not lock.acquire():
            # Another warmup of the same comparison and data is at work: its result is ours.
            log.status = RunLog.Status.SKIPPED
            log.metadata["skipped"] = f"{lock.name} is held by another run"
            return {"skipped": f"{lock.name} is held by another run", "runLog": log.id}

        generated: list[str] = []
        log.metadata["generated"] = generated  # filled in as it goes
        try:
            pack = selectors.cached_pack(comparison)
            steps: list[tuple[str, bool, Callable[[], object]]] = [
                ("forecast", pack.forecast_state != selectors.FRESH,
                 lambda: services.forecast_refresh(comparison=comparison)),
                ("insights", pack.insight_state != selectors.FRESH,
                 lambda: services.insight_refresh(comparison=comparison, job=ctx.job)),
            ]
            errors: list[Exception] = []
            for index, (name, missing, generate) in enumerate(steps):
                if not missing:
                    continue
                if not lock.held():
                    _note(log, _lost(lock))
                    raise PermanentJobError(_lost(lock))
                ctx.check_abort()
                try:
                    generate()
                except Exception as exc:  # the other output is still worth generating
                    run_log_count(log, ok=False, error=f"{name}: {exc}")
                    errors.append(exc)
                    ctx.progress(50 * (index + 1) - 1, f"{name} failed")
                else:
                    run_log_count(log, ok=True)
                    generated.append(name)
                    ctx.progress(50 * (index + 1) - 1, f"{name} ready")
            if errors:
                # A retry regenerates only what is still missing.
                raise errors[0] if len(errors) == 1 else RetryableJobError(
                    "; ".join(str(e) for e in errors))
        finally:
            lock.release()
    return {"slug": comparison.slug, "dataHash": comparison.data_hash, "generated": generated,
            "runLog": log.id}
