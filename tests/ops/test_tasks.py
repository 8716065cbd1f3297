"""The per-minute periodic task, run by a real Procrastinate worker."""

from __future__ import annotations

import datetime as dt

import pytest
from procrastinate.contrib.django import app
from procrastinate.periodic import PeriodicDeferrer

from jobs.models import Job
from ops import services
from ops.models import AlertEvent, AlertState, QueueSample
from ops.tasks import ops_tick
from tests.conftest import drain
from tests.ops.conftest import stale_pending

UTC = dt.UTC


def test_the_ops_tick_is_deferred_every_minute():
    task = next(t for t in app.periodic_registry.periodic_tasks.values()
                if t.periodic_id == "ops-alerts")
    since = int(dt.datetime(2026, 11, 20, 12, 0, 30, tzinfo=UTC).timestamp())

    ticks = PeriodicDeferrer(registry=app.periodic_registry).get_timestamps(
        periodic_task=task, since=since, until=since + 180)

    assert [dt.datetime.fromtimestamp(t, UTC).strftime("%H:%M:%S") for t in ticks] == [
        "12:01:00", "12:02:00", "12:03:00"]
    assert task.task.queue == "maintenance"


@pytest.mark.django_db(transaction=True)
def test_a_worker_running_the_tick_samples_the_queue_fixes_stuck_jobs_and_alerts_once(
    clean_queue, fake_slack
):
    stuck = stale_pending(6)

    # On a queue of its own: the worker's periodic deferrer also queues the
    # platform's maintenance tasks, which would race the tick for the stuck jobs.
    for minute in (0, 1):
        ops_tick.configure(queue="ops-test").defer(timestamp=minute * 60)
        drain(queues=["ops-test"])

    first, second = QueueSample.objects.order_by("taken_at")
    assert (first.pending, first.todo_by_queue["default"]) == (6, 6)
    assert (second.pending, second.todo_by_queue.get("default", 0)) == (0, 0)
    assert Job.objects.filter(id__in=[j.id for j in stuck], status="failed").count() == 6
    assert list(AlertEvent.objects.filter(key="stuck-jobs").order_by("id").values_list(
        "action", "delivery")) == [("fired", "sent"), ("cleared", "sent")]
    assert AlertState.objects.get(key="failure-rate").active  # the expired jobs failed
    assert AlertState.objects.get(key="failure-rate:diagnostic").active
    assert len(fake_slack.calls("/api/chat.postMessage")) == 4


@pytest.mark.django_db
def test_old_samples_and_alert_history_are_pruned(settings):
    settings.OPS_SAMPLE_RETENTION_HOURS = 48
    settings.OPS_ALERT_HISTORY_DAYS = 90
    old = QueueSample.objects.create(pending=1, running=0, todo=1)
    recent = QueueSample.objects.create(pending=2, running=0, todo=2)
    QueueSample.objects.filter(id=old.id).update(
        taken_at=dt.datetime.now(UTC) - dt.timedelta(hours=49))
    event = AlertEvent.objects.create(key="queue-depth", severity="warning", action="fired",
                                      message="old")
    AlertEvent.objects.filter(id=event.id).update(
        created_at=dt.datetime.now(UTC) - dt.timedelta(days=91))

    assert services.ops_prune() == 2
    assert list(QueueSample.objects.values_list("id", flat=True)) == [recent.id]
    assert not AlertEvent.objects.exists()
