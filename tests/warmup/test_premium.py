"""The premium endpoint serves from the cache only, flags needsWarmup and triggers the warmup."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time

import pytest
from django.utils import timezone

from jobs.models import Job, RunLog
from tests.conftest import drain, job_status, wait_for
from tests.warmup.conftest import make_comparison
from warmup import names, services
from warmup.models import CachedForecast, CachedInsight, Comparison


@pytest.mark.django_db
def test_an_empty_cache_is_flagged_and_the_warmup_queued_not_run(api, offline_llm):
    comparison = make_comparison("react-vs-vue", views=3)

    body = api.get("/api/comparison/premium", {"slug": "react-vs-vue"}).json()

    assert body["needsWarmup"] is True
    assert body["forecast"] is None and body["insights"] is None
    assert body["freshness"] == {"forecast": "missing", "insights": "missing"}
    assert body["dataHash"] == comparison.data_hash and body["terms"] == [
        "react-vs-vue-a", "react-vs-vue-b"]
    assert not CachedForecast.objects.exists() and not CachedInsight.objects.exists()
    job = Job.objects.get(id=body["warmupJobId"])
    assert (job.type, job.status, job.source) == (names.ON_DEMAND, "pending", "internal")
    visited = Comparison.objects.get(id=comparison.id)
    assert visited.view_count == 4 and visited.last_visited_at is not None


@pytest.mark.django_db(transaction=True)
def test_after_the_warmup_the_second_call_is_served_fresh(api, clean_queue, offline_llm):
    make_comparison("react-vs-vue")
    first = api.get("/api/comparison/premium", {"slug": "react-vs-vue"}).json()
    again = api.get("/api/comparison/premium", {"slug": "react-vs-vue"}).json()

    drain()
    second = api.get("/api/comparison/premium", {"slug": "react-vs-vue"}).json()

    assert again["warmupJobId"] == first["warmupJobId"]  # not queued twice
    assert job_status(first["warmupJobId"]) == "completed"
    assert second["needsWarmup"] is False and second["warmupJobId"] is None
    assert second["freshness"] == {"forecast": "fresh", "insights": "fresh"}
    assert second["forecast"]["termA"]["values"][:2] == [62.0, 63.0]
    assert second["insights"]["offline"] is True and second["insights"]["provider"] == "offline"
    assert "react-vs-vue-a" in second["insights"]["meaningExplanation"]
    log = RunLog.objects.get(job_type=names.ON_DEMAND)
    assert (log.status, log.processed, log.metadata["generated"]) == (
        "success", 2, ["forecast", "insights"])
    assert Job.objects.filter(type=names.ON_DEMAND).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_premium_call_never_waits_for_the_work(api, background_worker, fake_openai,
                                                   settings):
    settings.LLM_TIMEOUT_SECONDS = 10.0
    release = threading.Event()

    def slow_reply(_rec):  # an LLM that answers only when the test has measured
        release.wait(8)
        return json.dumps({"meaning_explanation": "m", "peak_explanation": "p"})

    fake_openai.reply = slow_reply
    make_comparison("slow")
    background_worker()
    try:
        started = time.monotonic()
        first = api.get("/api/comparison/premium", {"slug": "slow"})
        took = time.monotonic() - started
        wait_for(lambda: fake_openai.requests, timeout=10)  # the warmup is at the LLM now
        started = time.monotonic()
        during = api.get("/api/comparison/premium", {"slug": "slow"}).json()
        took_during = time.monotonic() - started
    finally:
        release.set()
    wait_for(lambda: job_status(first.json()["warmupJobId"]) == "completed", timeout=10)
    after = api.get("/api/comparison/premium", {"slug": "slow"}).json()

    assert first.status_code == 200 and first.json()["needsWarmup"] is True
    assert took < 1.0 and took_during < 1.0  # the LLM call alone takes until release
    assert during["freshness"] == {"forecast": "fresh", "insights": "missing"}
    assert during["warmupJobId"] == first.json()["warmupJobId"]  # the running one
    assert after["needsWarmup"] is False and after["insights"]["meaningExplanation"] == "m"


@pytest.mark.django_db(transaction=True)
def test_stale_entries_are_served_and_refreshed(api, clean_queue, offline_llm):
    comparison = make_comparison("stale-one")
    services.forecast_refresh(comparison=comparison)
    services.insight_refresh(comparison=comparison)
    old = CachedForecast.objects.get()
    CachedForecast.objects.update(fresh_until=timezone.now() - dt.timedelta(seconds=1))

    stale = api.get("/api/comparison/premium", {"slug": "stale-one"}).json()
    drain()
    fresh = api.get("/api/comparison/premium", {"slug": "stale-one"}).json()

    assert stale["freshness"] == {"forecast": "stale", "insights": "fresh"}
    assert stale["forecast"] == old.payload and stale["needsWarmup"] is True
    assert fresh["freshness"] == {"forecast": "fresh", "insights": "fresh"}
    assert CachedForecast.objects.get().computed_at > old.computed_at
    log = RunLog.objects.get(job_type=names.ON_DEMAND)
    assert log.metadata["generated"] == ["forecast"]  # the fresh insight was left alone


@pytest.mark.django_db
def test_entries_past_their_stale_time_are_not_served(api, offline_llm):
    comparison = make_comparison("expired")
    services.forecast_refresh(comparison=comparison)
    CachedForecast.objects.update(fresh_until=timezone.now() - dt.timedelta(days=2),
                                  stale_until=timezone.now() - dt.timedelta(seconds=1))

    body = api.get("/api/comparison/premium", {"slug": "expired"}).json()

    assert body["freshness"]["forecast"] == "missing" and body["forecast"] is None
    assert body["needsWarmup"] is True


@pytest.mark.django_db(transaction=True)
def test_new_series_are_not_served_the_old_cache(api, clean_queue, offline_llm):
    comparison = make_comparison("moving")
    services.forecast_refresh(comparison=comparison)
    services.insight_refresh(comparison=comparison)
    assert api.get("/api/comparison/premium", {"slug": "moving"}).json()["needsWarmup"] is False

    services.comparison_series_set(comparison=comparison, series_a=[5, 6, 7], series_b=[7, 6, 5])
    body = api.get("/api/comparison/premium", {"slug": "moving"}).json()

    assert body["needsWarmup"] is True and body["forecast"] is None
    assert Job.objects.get(id=body["warmupJobId"]).scope == (
        f"comparison:moving:{body['dataHash']}")


@pytest.mark.django_db
def test_the_premium_endpoint_needs_a_known_slug(api):
    assert api.get("/api/comparison/premium").status_code == 400
    assert api.get("/api/comparison/premium", {"slug": "nope"}).status_code == 404
