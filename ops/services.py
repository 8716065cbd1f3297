"""Writes of the ops app: the per-minute tick, queue samples, pruning."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from jobs.locks import session_lock
from ops import alerts, metrics
from ops.models import AlertEvent, QueueSample


@dataclass
class TickResult:
    sample: QueueSample
    evaluation: alerts.Evaluation
    pruned: int


def queue_sample_record(*, summary: metrics.Summary) -> QueueSample:
    return QueueSample.objects.create(
        pending=summary.overall.pending,
        running=summary.overall.running,
        todo=sum(q.todo for q in summary.queues),
        todo_by_queue={q.queue: q.todo for q in summary.queues},
    )


def ops_prune(*, now: dt.datetime | None = None) -> int:
    """Drop samples past OPS_SAMPLE_RETENTION_HOURS and alert history past
    OPS_ALERT_HISTORY_DAYS (indexes: taken_at, alertevent_created_idx)."""
    now = now or timezone.now()
    samples, _ = QueueSample.objects.filter(
        taken_at__lt=now - dt.timedelta(hours=settings.OPS_SAMPLE_RETENTION_HOURS)).delete()
    events, _ = AlertEvent.objects.filter(
        created_at__lt=now - dt.timedelta(days=settings.OPS_ALERT_HISTORY_DAYS)).delete()
    return samples + events


def ops_tick() -> TickResult:
    """Once a minute: refresh the 7-day baselines when stale, sample the queue,
    evaluate the alerts (and send them), prune old samples."""
    with session_lock("ops:baselines") as taken:
        if taken:  # another tick is already recomputing them
            metrics.baselines_refresh()
    data = metrics.summary()
    sample = queue_sample_record(summary=data)
    evaluation = alerts.alerts_evaluate(metrics=data)
    return TickResult(sample=sample, evaluation=evaluation, pruned=ops_prune())
