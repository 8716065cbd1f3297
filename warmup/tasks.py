"""Warmup job types and their schedules (Procrastinate periodic tasks: no external cron).

The periodic tasks only create platform jobs (`source="schedule"`); the jobs
do the work, with progress, retries, expiry and a run log like any other.
Procrastinate defers each tick once across all workers, and cron times are
UTC (croniter on epoch seconds).
"""

from __future__ import annotations

import logging

from django.conf import settings
from procrastinate.contrib.django import app

from jobs.registry import JobType, register
from warmup import names, runs, services
from warmup.serializers import AIExplanationsInput, ForecastsInput, OnDemandInput

logger = logging.getLogger(__name__)

SCHEDULE_QUEUE = "maintenance"
FORECASTS_CRON = "0 2 * * *"  # daily, 02:00 UTC
AI_EXPLANATIONS_CRON = "0 3 * * 0"  # Sundays, 03:00 UTC
CACHE_PRUNE_CRON = "40 4 * * *"


# Procrastinate's lock and queueing lock per type (and per comparison and data
# hash on demand): one running and one queued at most, whoever created the job;
# services.warmup_start refuses a second one earlier (the API's 429).
register(JobType(
    name=names.FORECASTS, handler=runs.run_forecasts, title="Warm up forecasts",
    description="Refresh the forecasts of the popular comparisons of the last 7 days.",
    input_serializer=ForecastsInput, public=False, max_retries=1,
    max_duration_seconds=int(settings.WARMUP_FORECASTS_LOCK_SECONDS),
    typical_duration="seconds to a few minutes",
    lock=lambda input, scope: names.FORECASTS_LOCK,
    queueing_lock=lambda input, scope: names.FORECASTS_LOCK,
))
register(JobType(
    name=names.AI_EXPLANATIONS, handler=runs.run_ai_explanations,
    title="Warm up AI explanations",
    description="Refresh the AI insights of the popular comparisons of the last 30 days.",
    input_serializer=AIExplanationsInput, public=False, max_retries=1,
    max_duration_seconds=int(settings.WARMUP_AI_LOCK_SECONDS),
    typical_duration="one LLM call per comparison, 3 at a time",
    lock=lambda input, scope: names.AI_EXPLANATIONS_LOCK,
    queueing_lock=lambda input, scope: names.AI_EXPLANATIONS_LOCK,
))
register(JobType(
    name=names.ON_DEMAND, handler=runs.run_on_demand, title="Warm up one comparison",
    description="Generate the missing or stale forecast and AI insights of one comparison.",
    input_serializer=OnDemandInput, public=False, poll_interval_ms=2000,
    max_duration_seconds=int(settings.WARMUP_ON_DEMAND_LOCK_SECONDS),
    typical_duration="a few seconds",
    lock=lambda input, scope: names.on_demand_lock(input["slug"], input.get("data_hash", "")),
    queueing_lock=lambda input, scope: names.on_demand_lock(
        input["slug"], input.get("data_hash", "")),
))


def _scheduled(job_type: str) -> str | None:
    try:
        job = services.warmup_start(job_type=job_type, source="schedule")
    except services.WarmupBusy as busy:
        logger.info("%s: this tick adds nothing (%s)", job_type, busy)
        return None
    return str(job.id)


@app.periodic(cron=FORECASTS_CRON, periodic_id="warmup-forecasts-nightly")
@app.task(name="warmup.schedule_forecasts", queue=SCHEDULE_QUEUE, pass_context=False)
def schedule_forecasts(timestamp: int) -> str | None:
    return _scheduled(names.FORECASTS)


@app.periodic(cron=AI_EXPLANATIONS_CRON, periodic_id="warmup-ai-explanations-weekly")
@app.task(name="warmup.schedule_ai_explanations", queue=SCHEDULE_QUEUE, pass_context=False)
def schedule_ai_explanations(timestamp: int) -> str | None:
    return _scheduled(names.AI_EXPLANATIONS)


@app.periodic(cron=CACHE_PRUNE_CRON, periodic_id="warmup-cache-prune")
@app.task(name="warmup.prune_cache", queue=SCHEDULE_QUEUE, pass_context=False)
def prune_cache(timestamp: int) -> int:
    return services.cache_prune()
