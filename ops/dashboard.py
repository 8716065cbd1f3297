"""The staff dashboard's figures and charts (read-only)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.utils import timezone

from ops import charts, metrics, selectors
from ops.models import QueueSample

STATUSES = ("completed", "failed", "cancelled")


def dashboard_context(*, now: dt.datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    start = now - dt.timedelta(hours=24)
    data = metrics.summary(now=now)
    history = metrics.hourly_history(now=now)

    # 24 hourly buckets, the last one the current (partial) hour.
    current = now.replace(minute=0, second=0, microsecond=0)
    hours = [current - dt.timedelta(hours=h) for h in range(23, -1, -1)]
    index = {hour: i for i, hour in enumerate(hours)}
    by_status: dict[str, list[float]] = {status: [0.0] * 24 for status in STATUSES}
    for hour, status, count in history["by_status"]:
        if hour in index:
            by_status[status][index[hour]] = float(count)
    p95: dict[str, list[tuple[dt.datetime, float]]] = {}
    for hour, job_type, value in history["p95"]:
        # Drawn at the middle of its hour.
        p95.setdefault(job_type, []).append((hour + dt.timedelta(minutes=30), round(value, 2)))

    samples = list(QueueSample.objects.filter(taken_at__gte=start).order_by("taken_at")
                   .values_list("taken_at", "pending", "todo"))
    depth = {
        "pending jobs": [(at, float(pending)) for at, pending, _ in samples],
        "queue todo": [(at, float(todo)) for at, _, todo in samples],
    }
    active_types = [m for m in data.types
                    if m.created_last_hour or m.completed_last_hour or m.failed_last_hour
                    or m.pending or m.running or m.stuck or m.retries_last_hour]
    return {
        "summary": data,
        "overall": data.overall,
        "active_types": active_types,
        "jobs_chart": charts.bar_chart(
            [f"{timezone.localtime(h):%H}h" for h in hours], by_status,
            title="Jobs finished per hour by status"),
        "p95_chart": charts.line_chart(p95, start=start, end=now, unit="s",
                                       title="P95 duration per type, per hour"),
        "depth_chart": charts.line_chart(depth, start=start, end=now,
                                         title="Queue depth, sampled each minute"),
        "samples": len(samples),
        "failure_limit": settings.OPS_ALERT_FAILURE_RATE,
        "active_alerts": selectors.alerts_active(),
        "recent_alerts": selectors.alerts_recent(limit=20),
    }
