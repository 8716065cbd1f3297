"""Workers killed with SIGKILL, and stopped with SIGTERM, in the middle of jobs."""

from __future__ import annotations

import os
import random
import time

import pytest
from django.db.models import Count, F

from jobs import lifecycle, maintenance
from jobs.models import DiagnosticEffect, Job, JobStep
from tests.conftest import job_status, wait_for
from tests.faults.conftest import record

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.faults]

FAST_HEARTBEAT = {"WORKER_HEARTBEAT_SECONDS": "0.5", "WORKER_POLL_SECONDS": "0.5",
                  "WORKER_CONCURRENCY": "4"}


def create(n: int, **input) -> list[Job]:
    valid = lifecycle.job_validate_input(job_type="diagnostic", input=input)
    return [lifecycle.job_create(job_type="diagnostic", input=valid, organization=None)
            for _ in range(n)]


def test_random_sigkills_lose_nothing_and_duplicate_nothing(worker_process):
    total = int(os.environ.get("FAULTS_JOBS", "1000"))
    jobs = create(total, steps=3, step_seconds=0.05, effect=True)
    workers = [worker_process(**FAST_HEARTBEAT) for _ in range(3)]
    rng = random.Random(1)
    kills = 0
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if not Job.objects.filter(status__in=["pending", "running"]).exists():
            break
        time.sleep(1.5)
        victim = rng.randrange(len(workers))
        workers[victim].kill()
        kills += 1
        workers[victim] = worker_process(**FAST_HEARTBEAT)
        maintenance.rescue_stalled_jobs(seconds_since_heartbeat=2)
    ids = [j.id for j in jobs]
    completed = Job.objects.filter(id__in=ids, status="completed").count()
    effects = DiagnosticEffect.objects.filter(job_id__in=ids).count()
    steps = JobStep.objects.filter(job_id__in=ids)
    per_job = steps.values("job_id").annotate(n=Count("id"))
    rerun = steps.filter(attempt__gt=F("job__attempts")).count()
    record("worker SIGKILLed every 1.5 s (3 workers)", did=total, lost=total - completed,
           duplicated=effects - completed,
           note=f"{kills} kills; {Job.objects.filter(id__in=ids, attempts__gt=1).count()} "
                "jobs rescued and re-run")

    assert completed == total
    assert not Job.objects.filter(id__in=ids, status="running").exists()
    assert effects == total
    assert all(row["n"] == 3 for row in per_job) and rerun == 0


def test_sigterm_hands_a_long_job_back_and_another_worker_finishes_it(worker_process):
    (job,) = create(1, steps=40, step_seconds=0.1)
    worker = worker_process("--shutdown-graceful-timeout", "1", **FAST_HEARTBEAT)
    wait_for(lambda: JobStep.objects.filter(job=job).count() >= 3, timeout=30)

    code = worker.terminate(timeout=30)
    after_stop = job_status(job.id)
    replacement = worker_process(**FAST_HEARTBEAT)
    wait_for(lambda: job_status(job.id) == "completed", timeout=60)
    replacement.terminate()

    job.refresh_from_db()
    record("SIGTERM during a long job", did=1, lost=0 if job.status == "completed" else 1,
           note=f"worker exit {code}; job was {after_stop} after the stop")
    assert after_stop == "pending"
    assert job.events.filter(kind="requeued").count() == 1
    assert job.attempts == 2 and job.steps.filter(attempt=1).count() >= 3
