"""Metrics on prepared job histories with answers worked out by hand."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from jobs import lifecycle, registry
from ops import metrics
from ops.models import DurationBaseline
from tests.conftest import drain
from tests.ops.conftest import active, finished, stalled_running

HOUR = dt.timedelta(hours=1)


@pytest.mark.django_db
def test_last_hour_counts_failure_rate_and_durations_per_type_and_overall():
    now = timezone.now()
    for seconds in range(1, 21):  # diagnostic: 20 completed, 1 s .. 20 s
        finished(now=now, duration=seconds)
    for _ in range(5):
        finished(now=now, status="failed")
    for _ in range(2):
        finished(now=now, status="cancelled")  # neither success nor failure
    finished(now=now, duration=100, ago=2 * HOUR)  # outside the hour
    for seconds in (2, 4, 6):  # a type no longer registered still counts
        finished(now=now, type="legacy_report", duration=seconds)

    data = metrics.summary(now=now)
    diag, legacy, overall = data.type("diagnostic"), data.type("legacy_report"), data.overall

    assert (diag.completed_last_hour, diag.failed_last_hour, diag.cancelled_last_hour) == (20, 5, 2)
    assert diag.created_last_hour == 27
    assert diag.failure_rate == 0.2  # 5 / (20 + 5)
    assert diag.avg_duration_s == pytest.approx(10.5)
    assert diag.p95_duration_s == pytest.approx(19.05)  # 19 + 0.05 x (20 - 19)
    assert (legacy.completed_last_hour, legacy.avg_duration_s) == (3, pytest.approx(4.0))
    assert legacy.p95_duration_s == pytest.approx(5.8)  # 4 + 0.9 x (6 - 4)
    assert (overall.completed_last_hour, overall.failed_last_hour) == (23, 5)
    assert overall.created_last_hour == 30
    assert overall.failure_rate == pytest.approx(5 / 28, abs=1e-4)
    assert overall.avg_duration_s == pytest.approx(222 / 23, abs=1e-3)
    assert overall.p95_duration_s == pytest.approx(18.9)  # 23 values: 18 + 0.9 x (19 - 18)


@pytest.mark.django_db
def test_depth_oldest_pending_back_off_and_stuck_by_the_expiry_rules():
    now = timezone.now()
    active(now=now, waited=dt.timedelta(minutes=1))
    active(now=now, waited=dt.timedelta(minutes=7))  # stuck: pending past 5 minutes
    active(now=now, available_in=dt.timedelta(seconds=30))  # a retry in back-off
    active(now=now, status="running", running_for=dt.timedelta(minutes=2))
    active(now=now, status="running", running_for=dt.timedelta(minutes=11))  # past 10 min

    diag = metrics.summary(now=now).type("diagnostic")

    assert (diag.pending, diag.backing_off, diag.running) == (3, 1, 2)
    assert diag.oldest_pending_s == pytest.approx(420, abs=1)  # not the back-off one
    assert diag.stuck == 2


@pytest.mark.django_db
def test_a_type_that_may_wait_longer_is_stuck_only_past_its_own_pending_limit():
    now = timezone.now()
    regenerate = "roadmap.regenerate"
    assert registry.get(regenerate).pending_expiry == 6 * 3600
    active(now=now, type=regenerate, waited=dt.timedelta(minutes=30))  # waits behind a lock
    active(now=now, type=regenerate, waited=dt.timedelta(hours=7))  # stuck: past 6 hours

    assert metrics.summary(now=now).type(regenerate).stuck == 1


@pytest.mark.django_db
def test_a_job_of_a_stalled_worker_counts_as_stuck():
    stalled_running()

    data = metrics.summary()

    assert (data.overall.running, data.overall.stuck) == (1, 1)
    assert {q.queue: (q.todo, q.doing) for q in data.queues} == {"default": (0, 1)}


@pytest.mark.django_db
def test_queue_depth_per_procrastinate_queue():
    for _ in range(3):
        lifecycle.job_create(job_type="diagnostic", input={}, source="internal")

    data = metrics.summary()

    assert [(q.queue, q.todo, q.doing, q.pending_jobs) for q in data.queues] == [
        ("default", 3, 0, 3)]
    assert data.overall.pending == 3


@pytest.mark.django_db(transaction=True)
def test_retries_are_counted_from_a_real_worker_run(clean_queue):
    job = lifecycle.job_create(job_type="diagnostic", source="internal",
                               input={"steps": 1, "fail": "retryable", "fail_times": 2})

    drain()
    data = metrics.summary()

    job.refresh_from_db()
    assert (job.status, job.attempts) == ("completed", 3)
    diag = data.type("diagnostic")
    assert diag.retries_last_hour == 2
    assert (diag.completed_last_hour, diag.pending, data.overall.retries_last_hour) == (1, 0, 2)
    assert all(q.todo == 0 for q in data.queues)


@pytest.mark.django_db
def test_the_normal_is_the_trailing_week_p95_and_is_refreshed_only_when_stale(settings):
    now = timezone.now()
    for day, seconds in enumerate(range(1, 21)):  # 20 jobs over the last week: 1 .. 20 s
        finished(now=now, duration=seconds, ago=dt.timedelta(hours=2 + day * 8))
    finished(now=now, duration=1000, ago=dt.timedelta(days=8))  # before the week
    finished(now=now, duration=500)  # the last hour is what gets compared, not the normal

    assert metrics.baselines_refresh(now=now) is True
    assert metrics.baselines_refresh(now=now + dt.timedelta(minutes=5)) is False
    later = now + dt.timedelta(seconds=settings.OPS_BASELINE_REFRESH_SECONDS + 1)
    stored = DurationBaseline.objects.get(type="diagnostic")

    assert (stored.p95_seconds, stored.samples) == (pytest.approx(19.05), 20)
    assert metrics.summary(now=now).type("diagnostic").p95_baseline_s == pytest.approx(19.05)
    assert metrics.baselines_refresh(now=later) is True


@pytest.mark.django_db
def test_hourly_history_by_status_and_p95_per_type():
    now = timezone.now()
    for seconds in (1, 2, 3):
        finished(now=now, duration=seconds, ago=dt.timedelta(hours=3))
    finished(now=now, status="failed", ago=dt.timedelta(hours=3))
    finished(now=now, status="completed", ago=dt.timedelta(hours=30))  # older than a day

    history = metrics.hourly_history(now=now)

    hour = (now - dt.timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    assert sorted((h, s, c) for h, s, c in history["by_status"]) == [
        (hour, "completed", 3), (hour, "failed", 1)]
    assert history["p95"] == [(hour, "diagnostic", pytest.approx(2.9))]
