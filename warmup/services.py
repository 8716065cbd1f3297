"""Writes of the warmup app: comparisons, the cache, and starting warmup jobs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from jobs import aio, lifecycle
from jobs.ai import llm
from jobs.errors import JobAlreadyQueued
from jobs.locks import xact_lock
from jobs.models import Job
from warmup import insights, names, offline, selectors
from warmup.forecast import holt_fit
from warmup.models import CachedForecast, CachedInsight, Comparison


class WarmupBusy(Exception):
    """A warmup of this type (and scope) is already queued or running."""

    def __init__(self, job_type: str, job: Job | None = None) -> None:
        self.job = job
        state = "running" if job is not None and job.status == "running" else "queued"
        which = f" (job {job.id})" if job is not None else ""
        super().__init__(
            f"A {job_type} job is already {state}{which}; try again when it has finished."
        )


# --- comparisons ------------------------------------------------------------------


def comparison_create(
    *,
    slug: str,
    term_a: str,
    term_b: str,
    series_a: Sequence[float],
    series_b: Sequence[float],
    series_start: dt.date | None = None,
    created_by: Any = None,
    view_count: int = 0,
    last_visited_at: dt.datetime | None = None,
) -> Comparison:
    return Comparison.objects.create(
        slug=slug, term_a=term_a, term_b=term_b,
        series_a=[float(v) for v in series_a], series_b=[float(v) for v in series_b],
        series_start=series_start, created_by=created_by if getattr(created_by, "pk", None)
        else None, view_count=view_count, last_visited_at=last_visited_at,
    )


def comparison_series_set(
    *,
    comparison: Comparison,
    series_a: Sequence[float],
    series_b: Sequence[float],
    series_start: dt.date | None = None,
) -> Comparison:
    """Replace the series: a new data hash, so the old cache entries stop being served."""
    comparison.series_a = [float(v) for v in series_a]
    comparison.series_b = [float(v) for v in series_b]
    comparison.series_start = series_start
    comparison.save(update_fields=["series_a", "series_b", "series_start", "updated_at"])
    return comparison


def comparison_visit(*, comparison: Comparison) -> None:
    """Count a view: the popularity the warmups select by."""
    Comparison.objects.filter(id=comparison.id).update(
        view_count=F("view_count") + 1, last_visited_at=timezone.now()
    )


# --- the cache ------------------------------------------------------------------------


def _lifetimes(now: dt.datetime) -> dict[str, dt.datetime]:
    return {
        "computed_at": now,
        "fresh_until": now + dt.timedelta(days=settings.WARMUP_FRESH_DAYS),
        "stale_until": now + dt.timedelta(days=settings.WARMUP_STALE_DAYS),
    }


def forecast_compute(comparison: Comparison) -> dict[str, Any]:
    """Holt's linear trend, fitted per term, `WARMUP_FORECAST_HORIZON_WEEKS` weeks ahead."""
    horizon = settings.WARMUP_FORECAST_HORIZON_WEEKS
    weeks = len(comparison.series_a)
    start = comparison.series_start
    payload: dict[str, Any] = {
        "method": "holt-linear",
        "horizonWeeks": horizon,
        # The Mondays (or whatever day the series starts on) of the forecast weeks.
        "weeks": [(start + dt.timedelta(weeks=weeks + h)).isoformat() for h in range(horizon)]
        if start else None,
    }
    for key, term, series in (
        ("termA", comparison.term_a, comparison.series_a),
        ("termB", comparison.term_b, comparison.series_b),
    ):
        fit = holt_fit(series, horizon=horizon)
        payload[key] = {
            "term": term, "values": fit.values, "alpha": fit.alpha, "beta": fit.beta,
            "level": round(fit.level, 3), "trend": round(fit.trend, 3),
            "rmse": round((fit.sse / max(1, len(series) - 1)) ** 0.5, 3),
        }
    return payload


def forecast_refresh(*, comparison: Comparison) -> CachedForecast:
    """Compute and cache the forecast of the comparison's current series (idempotent)."""
    payload = forecast_compute(comparison)
    entry, _ = CachedForecast.objects.update_or_create(
        comparison=comparison, data_hash=comparison.data_hash,
        defaults={"payload": payload, **_lifetimes(timezone.now())},
    )
    return entry


def _insight_request(comparison: Comparison, job: Job | None) -> dict[str, Any]:
    """The LLM call an insight refresh makes (sync or async, the same request)."""
    return {
        "prompt": insights.prompt(comparison),
        "system": insights.SYSTEM,
        "schema": insights.SCHEMA,
        "purpose": "warmup-ai-explanations",
        "job": job,
        "limiter_key": names.AI_LIMITER_KEY,
        "offline": offline.offline_builder(comparison),
        "max_tokens": 600,
    }


def _insight_store(comparison: Comparison, result: llm.Completion) -> CachedInsight:
    entry, _ = CachedInsight.objects.update_or_create(
        comparison=comparison, data_hash=comparison.data_hash,
        defaults={
            "meaning_explanation": result.data["meaning_explanation"],
            "peak_explanation": result.data["peak_explanation"],
            "provider": result.provider,
            "model": result.model[:100],
            "offline": result.offline,
            **_lifetimes(timezone.now()),
        },
    )
    return entry


def insight_refresh(*, comparison: Comparison, job: Job | None = None) -> CachedInsight:
    """Ask the LLM (through its shared limiter) and cache the answer (idempotent)."""
    return _insight_store(comparison, llm.complete(**_insight_request(comparison, job)))


async def ainsight_refresh(*, comparison: Comparison, job: Job | None = None) -> CachedInsight:
    """`insight_refresh` on the async LLM client: the wait holds no thread, no connection;
    the cache write is a short trip to the worker's database pool."""
    result = await llm.acomplete(**_insight_request(comparison, job))
    return await aio.db(_insight_store, comparison, result)


def cache_prune(*, now: dt.datetime | None = None) -> int:
    """Delete entries past their stale time (never served again)."""
    now = now or timezone.now()
    deleted = CachedForecast.objects.filter(stale_until__lt=now).delete()[0]
    return deleted + CachedInsight.objects.filter(stale_until__lt=now).delete()[0]


# --- starting warmups ------------------------------------------------------------------


def warmup_start(
    *, job_type: str, input: dict[str, Any] | None = None, source: str, scope: str = ""
) -> Job:
    """Queue a warmup job unless one of its type (and scope) is queued or running.

    Raises WarmupBusy then, and InvalidJobInput (a JobRefused) on bad input. The check
    and the creation run under a transaction-level advisory lock, so two
    triggers at the same instant cannot both pass the check. Warmups belong
    to no organization and skip the per-organization limits.
    """
    validated = lifecycle.job_validate_input(job_type=job_type, input=input or {})
    with transaction.atomic():
        xact_lock(f"warmup:start:{job_type}:{scope}")
        active = selectors.active_warmup(job_type, scope=scope)
        if active is not None:
            raise WarmupBusy(job_type, active)
        try:
            return lifecycle.job_create(
                job_type=job_type, input=validated, source=source, scope=scope,
                enforce_limits=False,
            )
        except JobAlreadyQueued as exc:
            # Procrastinate's queueing lock: a queue entry without an active
            # job row (started outside this function); still one at a time.
            raise WarmupBusy(job_type) from exc


def on_demand_start(*, comparison: Comparison, source: str) -> tuple[Job | None, bool]:
    """The on-demand warmup of the comparison's current data hash: (job, newly queued).

    When one is already queued or running, that one is returned, not queued again.
    """
    scope = names.on_demand_scope(comparison.slug, comparison.data_hash)
    try:
        job = warmup_start(
            job_type=names.ON_DEMAND, source=source, scope=scope,
            input={"slug": comparison.slug, "data_hash": comparison.data_hash},
        )
    except WarmupBusy as busy:
        return busy.job, False
    return job, True
