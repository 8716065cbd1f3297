"""The periodic schedules: the seed's times in UTC, and what a tick creates."""

from __future__ import annotations

import datetime as dt

import pytest
from procrastinate.contrib.django import app
from procrastinate.periodic import PeriodicDeferrer

from jobs.models import Job, RunLog
from tests.conftest import drain
from tests.warmup.conftest import make_comparison
from warmup import names
from warmup.models import CachedForecast
from warmup.tasks import schedule_ai_explanations, schedule_forecasts

UTC = dt.UTC


def ticks(periodic_id: str, *, since: dt.datetime, days: int) -> list[dt.datetime]:
    """When Procrastinate's own deferrer would defer the task, from `since` for `days`."""
    deferrer = PeriodicDeferrer(registry=app.periodic_registry)
    task = next(t for t in app.periodic_registry.periodic_tasks.values()
                if t.periodic_id == periodic_id)
    start = since.timestamp()
    return [dt.datetime.fromtimestamp(ts, UTC) for ts in deferrer.get_timestamps(
        periodic_task=task, since=int(start), until=start + days * 86400)]


def test_the_forecast_warmup_runs_every_day_at_0200_utc():
    since = dt.datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # a Friday noon

    assert ticks("warmup-forecasts-nightly", since=since, days=3) == [
        dt.datetime(2026, 11, 21, 2, 0, tzinfo=UTC),
        dt.datetime(2026, 11, 22, 2, 0, tzinfo=UTC),
        dt.datetime(2026, 11, 23, 2, 0, tzinfo=UTC),
    ]


def test_the_ai_explanation_warmup_runs_on_sundays_at_0300_utc():
    since = dt.datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

    runs = ticks("warmup-ai-explanations-weekly", since=since, days=15)

    assert runs == [dt.datetime(2026, 11, 22, 3, 0, tzinfo=UTC),
                    dt.datetime(2026, 11, 29, 3, 0, tzinfo=UTC)]
    assert {r.strftime("%A") for r in runs} == {"Sunday"}


@pytest.mark.django_db
def test_a_tick_creates_one_scheduled_job_and_a_second_tick_adds_nothing():
    first = schedule_forecasts(timestamp=0)
    second = schedule_forecasts(timestamp=1)
    weekly = schedule_ai_explanations(timestamp=0)

    job = Job.objects.get(type=names.FORECASTS)
    assert first == str(job.id) and second is None
    assert (job.source, job.organization_id, job.input) == (
        "schedule", None, {"limit": 50, "concurrency": 5})
    assert Job.objects.get(type=names.AI_EXPLANATIONS).id.hex == weekly.replace("-", "")


@pytest.mark.django_db(transaction=True)
def test_a_deferred_tick_runs_on_a_worker_into_a_finished_warmup(clean_queue, settings):
    settings.WARMUP_FORECASTS_LIMIT = 2
    for i in range(3):
        make_comparison(f"c{i}", views=3 - i)

    schedule_forecasts.defer(timestamp=1_700_000_000)
    drain()

    job = Job.objects.get(type=names.FORECASTS)
    assert (job.source, job.status, job.input["limit"]) == ("schedule", "completed", 2)
    assert sorted(CachedForecast.objects.values_list("comparison__slug", flat=True)) == [
        "c0", "c1"]
    assert RunLog.objects.get(job_type=names.FORECASTS).status == "success"


def test_the_lock_maxima_default_to_the_seeds_and_bound_each_warmup_type(monkeypatch, settings):
    import importlib

    from config.components import warmup as warmup_settings
    from jobs import registry

    for name in ("WARMUP_FORECASTS_LOCK_SECONDS", "WARMUP_AI_LOCK_SECONDS",
                 "WARMUP_ON_DEMAND_LOCK_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    defaults = importlib.reload(warmup_settings)

    # The seed: 1 hour, 2 hours, 30 minutes.
    assert (defaults.WARMUP_FORECASTS_LOCK_SECONDS, defaults.WARMUP_AI_LOCK_SECONDS,
            defaults.WARMUP_ON_DEMAND_LOCK_SECONDS) == (3600.0, 7200.0, 1800.0)
    # The settings in force are those defaults, and each type may run no longer
    # than its lock may be held (past it the platform expires the job).
    assert (settings.WARMUP_FORECASTS_LOCK_SECONDS, settings.WARMUP_AI_LOCK_SECONDS,
            settings.WARMUP_ON_DEMAND_LOCK_SECONDS) == (3600.0, 7200.0, 1800.0)
    assert {name: registry.get(name).max_duration for name in names.TYPES} == {
        names.FORECASTS: 3600, names.AI_EXPLANATIONS: 7200, names.ON_DEMAND: 1800}


def test_a_bad_lock_maximum_stops_the_start(monkeypatch):
    import importlib

    from django.core.exceptions import ImproperlyConfigured

    from config.components import warmup as warmup_settings

    monkeypatch.setenv("WARMUP_ON_DEMAND_LOCK_SECONDS", "0")
    try:
        with pytest.raises(ImproperlyConfigured, match="WARMUP_ON_DEMAND_LOCK_SECONDS"):
            importlib.reload(warmup_settings)
    finally:
        monkeypatch.delenv("WARMUP_ON_DEMAND_LOCK_SECONDS")
        importlib.reload(warmup_settings)
