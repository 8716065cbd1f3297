"""Warmup runs end to end: real workers, the offline provider or the fake OpenAI server."""

from __future__ import annotations

import json
import threading
import time

import pytest
from django.db import connection, connections, transaction

from jobs.models import Job, RunLog
from tests.conftest import drain, job_status, wait_for
from tests.fakes.server import openai_error
from tests.warmup.conftest import make_comparison
from warmup import names
from warmup.locks import WarmupLock
from warmup.models import CachedForecast, CachedInsight


def insight_json(_rec=None) -> str:
    return json.dumps({"meaning_explanation": "m", "peak_explanation": "p"})


@pytest.mark.django_db(transaction=True)
def test_the_forecast_warmup_caches_the_selected_comparisons_and_logs_the_run(
    job_client, clean_queue
):
    for i in range(6):
        make_comparison(f"c{i}", views=10 - i)
    make_comparison("not-popular")

    accepted = job_client("/api/jobs/warmup-forecasts", {"limit": 5, "concurrency": 2})
    drain()

    job = Job.objects.get(id=accepted.json()["jobId"])
    assert job.status == "completed"
    cached = set(CachedForecast.objects.values_list("comparison__slug", flat=True))
    assert cached == {"c0", "c1", "c2", "c3", "c4"}
    log = RunLog.objects.get(job_type=names.FORECASTS)
    assert (log.status, log.processed, log.failed, log.errors) == ("success", 5, 0, [])
    assert log.job_id == job.id and log.finished_at is not None and log.duration_ms >= 0
    assert log.metadata["selected"] == ["c0", "c1", "c2", "c3", "c4"]
    assert log.metadata["concurrency"] == 2 and log.metadata["maxInFlight"] <= 2
    assert job.output["processed"] == 5 and job.output["runLog"] == log.id


@pytest.mark.django_db(transaction=True)
def test_failing_comparisons_are_counted_with_at_most_ten_errors_and_the_run_succeeds(
    job_client, clean_queue
):
    for i in range(12):
        make_comparison(f"broken{i:02d}", views=5, series=[])  # nothing to forecast
    make_comparison("fine", views=1)

    accepted = job_client("/api/jobs/warmup-forecasts", {"concurrency": 3})
    drain()

    log = RunLog.objects.get(job_type=names.FORECASTS)
    assert (log.status, log.processed, log.failed) == ("success", 1, 12)
    assert len(log.errors) == 10
    assert all(e.startswith("broken") and "empty series" in e for e in log.errors)
    assert job_status(accepted.json()["jobId"]) == "completed"
    assert CachedForecast.objects.get().comparison.slug == "fine"


@pytest.mark.django_db(transaction=True)
def test_a_run_where_every_comparison_fails_is_failed(job_client, clean_queue):
    for i in range(3):
        make_comparison(f"broken{i}", views=5, series=[])

    accepted = job_client("/api/jobs/warmup-forecasts")
    drain()

    job = Job.objects.get(id=accepted.json()["jobId"])
    log = RunLog.objects.get(job_type=names.FORECASTS)
    assert (log.status, log.processed, log.failed) == ("failed", 0, 3)
    assert job.status == "failed" and job.error.startswith("All 3 comparisons failed")


@pytest.mark.django_db(transaction=True)
def test_the_forecast_warmup_never_runs_more_than_five_at_once_as_postgres_sees_it(
    job_client, background_worker
):
    comparisons = [make_comparison(f"c{i:02d}", views=20) for i in range(12)]
    for c in comparisons:  # existing entries, so each refresh locks its row
        CachedForecast.objects.create(comparison=c, data_hash=c.data_hash, payload={},
                                      fresh_until=c.created_at, stale_until=c.created_at,
                                      computed_at=c.created_at)
    hold, holding = threading.Event(), threading.Event()

    def lock_every_cached_row() -> None:
        with transaction.atomic():
            list(CachedForecast.objects.select_for_update())
            holding.set()
            hold.wait(20)
        connections["default"].close()

    def waiting_on_row_locks() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query LIKE '%%warmup_cachedforecast%%'")
            return int(cursor.fetchone()[0])

    locker = threading.Thread(target=lock_every_cached_row)
    locker.start()
    holding.wait(5)
    background_worker()
    accepted = job_client("/api/jobs/warmup-forecasts", {"concurrency": 5})
    try:
        wait_for(lambda: waiting_on_row_locks() == 5, timeout=20)
        samples = []
        for _ in range(30):
            samples.append(waiting_on_row_locks())
            time.sleep(0.01)
    finally:
        hold.set()
        locker.join()
    wait_for(lambda: job_status(accepted.json()["jobId"]) == "completed", timeout=20)

    assert max(samples) == 5
    log = RunLog.objects.get(job_type=names.FORECASTS)
    assert (log.processed, log.metadata["maxInFlight"]) == (12, 5)


@pytest.mark.django_db(transaction=True)
def test_the_ai_warmup_never_runs_more_than_three_llm_calls_at_once(
    job_client, clean_queue, fake_openai
):
    state = {"now": 0, "max": 0}
    guard = threading.Lock()

    def slow_reply(_rec):
        with guard:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(0.25)
        with guard:
            state["now"] -= 1
        return insight_json()

    fake_openai.reply = slow_reply
    for i in range(7):
        make_comparison(f"i{i}", views=20)

    job_client("/api/jobs/warmup-ai-explanations")
    drain()

    assert state["max"] == 3
    assert len(fake_openai.requests) == 7
    insights = CachedInsight.objects.all()
    assert len(insights) == 7 and {i.provider for i in insights} == {"openai"}
    assert not any(i.offline for i in insights)
    log = RunLog.objects.get(job_type=names.AI_EXPLANATIONS)
    assert (log.status, log.processed, log.metadata["maxInFlight"]) == ("success", 7, 3)


@pytest.mark.django_db(transaction=True)
def test_an_llm_error_fails_one_comparison_not_the_run(job_client, clean_queue, fake_openai):
    fake_openai.reply = insight_json
    fake_openai.enqueue(openai_error(500, "The server had an error"))  # the first call only
    for i in range(3):
        make_comparison(f"i{i}", views=20)

    job_client("/api/jobs/warmup-ai-explanations", {"concurrency": 1})
    drain()

    log = RunLog.objects.get(job_type=names.AI_EXPLANATIONS)
    assert (log.status, log.processed, log.failed) == ("success", 2, 1)
    assert log.errors[0].startswith("i0: ")
    assert sorted(CachedInsight.objects.values_list("comparison__slug", flat=True)) == [
        "i1", "i2"]


@pytest.mark.django_db(transaction=True)
def test_a_second_trigger_while_one_runs_is_429(job_client, background_worker, fake_openai):
    release = threading.Event()

    def slow_reply(_rec):
        release.wait(1.5)
        return insight_json()

    fake_openai.reply = slow_reply
    make_comparison("busy", views=20)
    background_worker()
    first = job_client("/api/jobs/warmup-ai-explanations")
    wait_for(lambda: fake_openai.requests, timeout=10)
    state_then = job_status(first.json()["jobId"])

    second = job_client("/api/jobs/warmup-ai-explanations")
    release.set()

    assert state_then == "running"
    assert second.status_code == 429
    assert "already running" in second.json()["error"]
    wait_for(lambda: job_status(first.json()["jobId"]) == "completed", timeout=10)
    assert job_client("/api/jobs/warmup-ai-explanations").status_code == 202


@pytest.mark.django_db(transaction=True)
def test_a_run_past_its_lock_maximum_loses_the_lock_and_stops(
    settings, job_client, clean_queue, fake_openai
):
    settings.WARMUP_AI_LOCK_SECONDS = 1.0

    def slow_reply(_rec):
        time.sleep(0.3)
        return insight_json()

    fake_openai.reply = slow_reply
    for i in range(10):
        make_comparison(f"i{i}", views=20)

    accepted = job_client("/api/jobs/warmup-ai-explanations", {"concurrency": 1})
    drain()

    job = Job.objects.get(id=accepted.json()["jobId"])
    message = "Stopped: warmup:ai-explanations:lock was held past its maximum of 1 s"
    assert (job.status, job.error, job.error_kind) == ("failed", message, "permanent")
    log = RunLog.objects.get(job_type=names.AI_EXPLANATIONS)
    assert log.status == "failed" and log.metadata["stopped"] == message
    assert 1 <= log.processed < 10 and len(log.metadata["skipped"]) == 10 - log.processed
    assert len(fake_openai.requests) == log.processed  # nothing started after the loss
    lock = WarmupLock(names.AI_EXPLANATIONS_LOCK, holder="next", seconds=60)
    assert lock.acquire()  # released when it stopped
    lock.release()


@pytest.mark.django_db(transaction=True)
def test_a_run_that_finds_its_lock_taken_does_nothing_and_is_logged_skipped(
    job_client, clean_queue, offline_llm, settings
):
    from ops import alerts, metrics

    settings.OPS_SCHEDULED_RUN_TYPES = (names.FORECASTS,)
    make_comparison("c", views=5)
    held = WarmupLock(names.FORECASTS_LOCK, holder="someone", seconds=60)
    assert held.acquire()
    try:
        accepted = job_client("/api/jobs/warmup-forecasts")
        drain()
    finally:
        held.release()

    job = Job.objects.get(id=accepted.json()["jobId"])
    assert job.status == "completed"
    assert job.output["skipped"] == "Skipped: warmup:forecasts:lock is held by another run"
    assert not CachedForecast.objects.exists()
    # Skipped, not failed: its job completed and nothing went wrong.
    log = RunLog.objects.get(job_type=names.FORECASTS)
    assert (log.status, log.errors, log.failed) == ("skipped", [], 0)
    assert log.metadata["stopped"] == job.output["skipped"]
    assert log.finished_at is not None
    # ...so the scheduled run's failure alert is not raised.
    summary = metrics.summary()
    run = next(r for r in summary.runs if r.type == names.FORECASTS)
    assert (run.status, run.last_failed, run.finished_status) == ("skipped", False, "")
    result = alerts.alerts_evaluate(metrics=summary)
    assert not result.skipped
    assert [e.key for e in result.events if e.key.startswith("run-failed:")] == []


@pytest.mark.django_db(transaction=True)
def test_an_on_demand_run_that_finds_its_comparisons_lock_taken_generates_nothing(
    clean_queue, offline_llm
):
    from warmup import services

    comparison = make_comparison("od-held", views=5)
    # The seed's lock name, spelled out: warmup:on-demand:{slug}:{dataHash}.
    lock_name = f"warmup:on-demand:od-held:{comparison.data_hash}"
    assert names.on_demand_lock(comparison.slug, comparison.data_hash) == lock_name
    held = WarmupLock(lock_name, holder="another-run", seconds=60)
    assert held.acquire()
    try:
        job, queued = services.on_demand_start(comparison=comparison, source="internal")
        assert queued
        drain()
    finally:
        held.release()

    job.refresh_from_db()
    assert job.status == "completed"
    assert job.output["skipped"] == f"{lock_name} is held by another run"
    assert not CachedForecast.objects.exists() and not CachedInsight.objects.exists()
    log = RunLog.objects.get(job_type=names.ON_DEMAND)
    assert (log.status, log.processed, log.failed, log.metadata["lock"]) == (
        "skipped", 0, 0, lock_name)
    assert log.metadata["skipped"] == f"{lock_name} is held by another run"

    # Free again, the next on-demand run generates both.
    services.on_demand_start(comparison=comparison, source="internal")
    drain()
    assert CachedForecast.objects.filter(data_hash=comparison.data_hash).count() == 1
    assert CachedInsight.objects.filter(data_hash=comparison.data_hash).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_ai_warmup_spends_its_own_shared_llm_budget(
    settings, job_client, clean_queue, fake_openai
):
    settings.LLM_RATE_LIMITS = {**settings.LLM_RATE_LIMITS, names.AI_LIMITER_KEY: 5.0}
    fake_openai.reply = insight_json
    for i in range(4):
        make_comparison(f"i{i}", views=20)

    job_client("/api/jobs/warmup-ai-explanations", {"concurrency": 3})
    drain()

    arrivals = fake_openai.times()
    assert len(arrivals) == 4
    # Slots 0.2 s apart: the four calls (three at once without the limiter) are
    # spread over 0.6 s; the margins allow the first call to arrive late on a
    # loaded machine, never a call before its slot.
    assert arrivals[2] - arrivals[0] > 0.2
    assert arrivals[3] - arrivals[0] > 0.45
    assert CachedInsight.objects.count() == 4


@pytest.mark.django_db(transaction=True)
def test_warmup_calls_and_other_llm_calls_together_stay_within_the_providers_budget(
    settings, fake_openai
):
    from jobs.ai import llm
    from jobs.ai.models import RateLimitBucket
    from warmup import services

    # 4 calls a second for the provider, and (on its own) 4 for the warmups' key:
    # two budgets side by side would let 8 a second through.
    settings.LLM_REQUESTS_PER_SECOND = 4.0
    settings.LLM_RATE_LIMITS = {names.AI_LIMITER_KEY: 4.0}
    fake_openai.reply = insight_json
    comparisons = [make_comparison(f"b{i}", views=20) for i in range(4)]
    llm.complete(prompt="warm-up")  # the SDK's first request in a process is slow
    errors: list[BaseException] = []

    def run(call) -> None:
        try:
            call()
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    calls = [lambda c=c: services.insight_refresh(comparison=c) for c in comparisons]
    calls += [lambda i=i: llm.complete(prompt=f"other {i}") for i in range(4)]
    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert not errors
    times = sorted(c.at for c in fake_openai.calls("/v1/chat/completions")
                   if c.json()["messages"][-1]["content"] != "warm-up")
    assert len(times) == 8 and CachedInsight.objects.count() == 4
    # At most 4 (+1 for a late arrival) in any second, and 8 calls take >= 7 slots of
    # 0.25 s. Side by side, the two budgets let all 8 through in about 0.75 s.
    busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert busiest <= 5, times
    assert times[-1] - times[0] >= 7 * 0.25 - 0.15, times
    assert {"llm:openai", names.AI_LIMITER_KEY} <= set(
        RateLimitBucket.objects.values_list("key", flat=True))
