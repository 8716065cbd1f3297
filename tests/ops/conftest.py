"""Builders for prepared job histories, and the ops settings every test starts from."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from jobs import lifecycle
from jobs.models import Job


@pytest.fixture(autouse=True)
def ops_settings(settings: Any) -> None:
    settings.OPS_METRICS_TOKEN = "metrics-token"
    settings.OPS_METRICS_PUBLIC = False
    settings.OPS_ALERT_SLACK_CHANNEL = "#ops-alerts"
    settings.OPS_DASHBOARD_URL = ""
    settings.SLACK_BOT_TOKEN = ""  # Slack is off unless a test asks for the fake server


def finished(*, now: dt.datetime, status: str = "completed", type: str = "diagnostic",
             duration: float = 1.0, ago: dt.timedelta = dt.timedelta(minutes=10)) -> Job:
    """A job that ended `ago` before `now` after running `duration` seconds."""
    completed_at = now - ago
    started_at = completed_at - dt.timedelta(seconds=duration)
    job = Job.objects.create(type=type, status=status, input={}, attempts=1)
    Job.objects.filter(id=job.id).update(
        created_at=started_at - dt.timedelta(seconds=1),
        available_at=started_at - dt.timedelta(seconds=1),
        started_at=started_at, completed_at=completed_at)
    return job


def active(*, now: dt.datetime, status: str = "pending", type: str = "diagnostic",
           waited: dt.timedelta = dt.timedelta(0), running_for: dt.timedelta | None = None,
           available_in: dt.timedelta | None = None) -> Job:
    """A pending job that became runnable `waited` ago (or will in `available_in`),
    or a running one started `running_for` ago."""
    available = now + available_in if available_in is not None else now - waited
    job = Job.objects.create(type=type, status=status, input={})
    Job.objects.filter(id=job.id).update(
        created_at=min(available, now), available_at=available,
        started_at=now - running_for if running_for is not None else None)
    return job


def stale_pending(count: int, *, minutes: int = 10) -> list[Job]:
    """Jobs created through the platform (with queue rows) that no worker took for `minutes`."""
    jobs = [lifecycle.job_create(job_type="diagnostic", input={}, source="internal")
            for _ in range(count)]
    Job.objects.filter(id__in=[j.id for j in jobs]).update(
        available_at=timezone.now() - dt.timedelta(minutes=minutes))
    return jobs


def stalled_running() -> Job:
    """A running job whose worker stopped sending heartbeats an hour ago (a killed worker)."""
    job = lifecycle.job_create(job_type="diagnostic", input={}, source="internal")
    assert lifecycle.job_start(job.id) is not None
    job.refresh_from_db()
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO procrastinate_workers (last_heartbeat) "
                       "VALUES (now() - interval '1 hour') RETURNING id")
        (worker_id,) = cursor.fetchone()
        cursor.execute("UPDATE procrastinate_jobs SET status = 'doing', worker_id = %s "
                       "WHERE id = %s", [worker_id, job.procrastinate_job_id])
    return job
