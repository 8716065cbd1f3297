"""Expiry, rescue of a dead worker's job, retention and admission races."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.db import connection, connections
from django.utils import timezone

from jobs import lifecycle, maintenance, registry
from jobs.errors import AdmissionRefused
from jobs.models import Job, JobStep
from tests.conftest import create_diagnostic as create
from tests.conftest import drain, job_status, wait_for

pytestmark = pytest.mark.django_db(transaction=True)



def procrastinate_status(job: Job) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT status FROM procrastinate_jobs WHERE id = %s",
                       [job.procrastinate_job_id])
        return cursor.fetchone()[0]


def test_a_job_pending_over_five_minutes_expires_and_never_runs(org, clean_queue):
    job = create(org)
    Job.objects.filter(id=job.id).update(available_at=timezone.now() - dt.timedelta(minutes=6))
    fresh = create(org)

    expired = maintenance.expire_stuck_jobs()
    drain()

    job.refresh_from_db()
    assert expired == 1
    assert job.status == "failed" and job.error_kind == "expired"
    assert "pending for more than 300 s" in job.error
    assert procrastinate_status(job) == "cancelled"
    assert not job.events.filter(kind="started").exists()
    assert job_status(fresh.id) == "completed"


def test_a_job_running_past_its_maximum_is_expired_and_its_worker_stops(org, background_worker):
    job = create(org, steps=100, step_seconds=0.1)
    background_worker()
    wait_for(lambda: Job.objects.get(id=job.id).progress >= 1)

    expired = maintenance.expire_stuck_jobs(now=timezone.now() + dt.timedelta(minutes=11))

    assert expired == 1
    wait_for(lambda: procrastinate_status(job) in ("aborted", "failed", "succeeded"), timeout=15)
    job.refresh_from_db()
    assert job.status == "failed" and job.error_kind == "expired"
    assert "running for more than 600 s" in job.error
    assert not job.events.filter(kind="completed").exists()
    assert job.steps.count() < 100


def _slow_handler(ctx: Any) -> dict[str, Any]:
    for i in range(1000):
        ctx.step(f"s{i}", lambda: __import__("time").sleep(0.05))
    return {}


registry.register(registry.JobType(
    name="test_short_limit", handler=_slow_handler, max_duration_seconds=1, public=False,
))


def test_a_handler_stops_itself_past_its_types_maximum_duration(org, clean_queue):
    job = lifecycle.job_create(job_type="test_short_limit", input={}, organization=org)

    drain()

    job.refresh_from_db()
    assert job.status == "failed" and job.error_kind == "expired"
    assert job.error == "Expired: ran longer than the 1 s allowed for test_short_limit"
    assert 5 < job.steps.count() < 100


def test_a_killed_workers_job_is_rescued_and_finished_without_redoing_steps(
    org, worker_process
):
    job = create(org, steps=30, step_seconds=0.1)
    worker = worker_process()
    wait_for(lambda: JobStep.objects.filter(job=job).count() >= 5, timeout=30)

    worker.kill()
    steps_before = JobStep.objects.filter(job=job).count()
    assert job_status(job.id) == "running"
    rescued = maintenance.rescue_stalled_jobs(seconds_since_heartbeat=0)
    drain()

    job.refresh_from_db()
    assert rescued == 1
    assert job.status == "completed"
    assert job.attempts == 2
    assert job.events.filter(kind="rescued").count() == 1
    attempts = list(
        JobStep.objects.filter(job=job).order_by("id").values_list("attempt", flat=True))
    assert len(attempts) == 30
    assert attempts[:steps_before] == [1] * steps_before
    assert set(attempts[steps_before:]) <= {1, 2}


def test_a_lost_workers_late_writes_do_not_overwrite_the_rescued_job(org, clean_queue):
    job = create(org, steps=1)
    started = lifecycle.job_start(job.id)
    assert started is not None
    lifecycle.job_rescue(job.id, attempt=1, reason="test")
    lifecycle.job_start(job.id)  # attempt 2 on another worker

    late = lifecycle.job_complete(job.id, attempt=1, output={"stale": True})

    assert late is None
    job.refresh_from_db()
    assert job.status == "running" and job.attempts == 2 and job.output is None


def test_retention_prunes_old_finished_jobs_with_their_queue_rows(org, clean_queue):
    old_done, old_failed, recent_failed, active = (create(org) for _ in range(4))
    drain()
    now = timezone.now()
    Job.objects.filter(id=old_done.id).update(completed_at=now - dt.timedelta(days=31))
    Job.objects.filter(id__in=[old_failed.id, recent_failed.id]).update(status="failed")
    Job.objects.filter(id=old_failed.id).update(completed_at=now - dt.timedelta(days=8))
    Job.objects.filter(id=recent_failed.id).update(completed_at=now - dt.timedelta(days=6))
    Job.objects.filter(id=active.id).update(
        status="pending", completed_at=now - dt.timedelta(days=90))

    pruned = maintenance.prune_old_jobs()

    assert pruned == 2
    assert set(Job.objects.values_list("id", flat=True)) == {recent_failed.id, active.id}
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM procrastinate_jobs WHERE id = ANY(%s)",
                       [[old_done.procrastinate_job_id, old_failed.procrastinate_job_id]])
        assert cursor.fetchone()[0] == 0


@pytest.mark.parametrize("round_", range(3))
def test_twenty_concurrent_creates_for_one_org_accept_exactly_five(org, clean_queue, round_):
    barrier = threading.Barrier(20)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt() -> None:
        try:
            barrier.wait()
            try:
                create(org)
                result = "accepted"
            except AdmissionRefused:
                result = "refused"
            with lock:
                outcomes.append(result)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert outcomes.count("accepted") == 5
    assert outcomes.count("refused") == 15
    assert Job.objects.filter(organization=org).count() == 5


def test_pruning_removes_day_old_task_rows_but_keeps_periodic_and_job_rows(org, clean_queue):
    from procrastinate.contrib.django import app

    job = create(org)
    drain()
    task = app.tasks["jobs.maintenance.expire"]
    old_task_row = task.defer(timestamp=0)
    recent_task_row = task.defer(timestamp=1)
    drain(queues=["maintenance"])
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE procrastinate_events SET at = now() - interval '2 days' "
            "WHERE job_id IN (%s, %s)", [old_task_row, job.procrastinate_job_id])

    maintenance.prune_old_jobs()

    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM procrastinate_jobs ORDER BY id")
        remaining = [row[0] for row in cursor.fetchall()]
    assert old_task_row not in remaining
    assert {job.procrastinate_job_id, recent_task_row} <= set(remaining)


registry.register(registry.JobType(
    name="test_patient", handler=lambda ctx: {}, public=False, pending_expiry_seconds=3600,
))


def test_a_type_may_wait_longer_than_the_default_before_it_expires(org, clean_queue):
    patient = lifecycle.job_create(job_type="test_patient", input={}, organization=org)
    hurried = create(org)
    ten_minutes_ago = timezone.now() - dt.timedelta(minutes=10)
    Job.objects.filter(id__in=[patient.id, hurried.id]).update(available_at=ten_minutes_ago)

    expired = maintenance.expire_stuck_jobs()

    assert expired == 1
    assert job_status(hurried.id) == "failed" and job_status(patient.id) == "pending"
    assert maintenance.expire_stuck_jobs(now=timezone.now() + dt.timedelta(hours=1)) == 1
    assert job_status(patient.id) == "failed"
