"""Warmup schedules (Procrastinate periodic tasks: no external cron); the job types are in
jobtypes.py.

The periodic tasks only create platform jobs (`source="schedule"`); the jobs
do the work, with progress, retries, expiry and a run log like any other.
Procrastinate defers each tick once across all workers, and cron times are
UTC (croniter on epoch seconds).
"""

from __future__ import annotations

import logging

from procrastinate.contrib.django import app

from warmup import names, services

logger = logging.getLogger(__name__)

SCHEDULE_QUEUE = "maintenance"
FORECASTS_CRON = "0 2 * * *"  # daily, 02:00 UTC
AI_EXPLANATIONS_CRON = "0 3 * * 0"  # Sundays, 03:00 UTC
CACHE_PRUNE_CRON = "40 4 * * *"


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
