"""The warmup app's job types (imported by WarmupConfig.ready)."""

from __future__ import annotations

from django.conf import settings

from jobs.registry import JobType, register
from warmup import names
from warmup.handlers import runs
from warmup.serializers import AIExplanationsInput, ForecastsInput, OnDemandInput

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
