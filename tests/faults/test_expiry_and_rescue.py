"""Expiry and rescue within their thresholds, and the locks they free.

Maintenance (`jobs.maintenance`) runs here every 0.25 s in the test process
with short thresholds; the worker processes get the same ones through the
environment (WORKER_HEARTBEAT_SECONDS, WORKER_STALLED_SECONDS,
JOBS_STALLED_WORKER_SECONDS).

- A worker SIGKILLed mid-job: its job is rescued after the stalled-worker
  threshold (not before: a live worker's job next to it is never taken), then
  finished by another worker without re-running its completed steps, and the
  Procrastinate lock it held lets the next job of the same key run.
- A running job whose worker vanished, past its type's maximum duration:
  expired within a second of its limit; its lock is free again.
- A pending job no worker takes: expired within a second of the pending
  limit, and never run afterwards.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from jobs import lifecycle, maintenance
from jobs.models import Job, JobStep
from tests.conftest import wait_for
from tests.faults.conftest import record

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.faults]

STALLED = 2.0
HEARTBEAT = 0.5
WORKER_ENV = {
    "WORKER_HEARTBEAT_SECONDS": str(HEARTBEAT), "WORKER_STALLED_SECONDS": str(STALLED),
    "JOBS_STALLED_WORKER_SECONDS": str(STALLED), "WORKER_POLL_SECONDS": "0.2",
    "WORKER_CONCURRENCY": "2", "JOBS_RETRY_BASE_SECONDS": "0",
}


@pytest.fixture
def short_thresholds(settings: Any) -> None:
    # The pending limit stays long here: a job waiting behind a lock is pending.
    settings.JOBS = {**settings.JOBS, "STALLED_WORKER_SECONDS": STALLED}


def create(job_type: str, **input: Any) -> Job:
    import tests.faults.fault_jobs  # noqa: F401  (registers the test-only types here)

    valid = lifecycle.job_validate_input(job_type=job_type, input=input)
    return lifecycle.job_create(job_type=job_type, input=valid, organization=None)


def run_maintenance_until(done: Callable[[], bool], timeout: float, *,
                          rescue: bool = True) -> float:
    """Run maintenance every 0.25 s until `done`; the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if rescue:
            maintenance.rescue_stalled_jobs()
        maintenance.expire_stuck_jobs()
        if done():
            return time.monotonic() - started
        time.sleep(0.25)
    raise AssertionError(f"maintenance did not get there within {timeout} s")


def status(job: Job) -> str:
    job.refresh_from_db()
    return job.status


def test_a_killed_workers_job_is_rescued_after_the_threshold_and_frees_its_lock(
    short_thresholds, fault_worker
):
    # Long enough to be still running when the healthy worker has started.
    victim_job = create("faults-locked", key="k1", steps=48, step_seconds=0.25)
    waiting = create("faults-locked", key="k1", steps=1, step_seconds=0)
    doomed = fault_worker(**{**WORKER_ENV, "WORKER_CONCURRENCY": "1"})  # busy with the victim
    wait_for(lambda: JobStep.objects.filter(job=victim_job).count() >= 3, timeout=60)
    steps_before = JobStep.objects.filter(job=victim_job).count()
    healthy = fault_worker(**WORKER_ENV)
    live_job = create("faults-locked", key="k2", steps=60, step_seconds=0.25)
    wait_for(lambda: status(live_job) == "running", timeout=30)

    doomed.kill()
    rescued_after = run_maintenance_until(lambda: status(victim_job) != "running", timeout=30)
    wait_for(lambda: status(victim_job) == "completed" and status(waiting) == "completed",
             timeout=60)
    live_taken = live_job.events.filter(kind="rescued").exists()
    rerun = JobStep.objects.filter(job=victim_job, attempt__gt=1,
                                   name__in=[f"step-{i}" for i in range(1, steps_before + 1)])
    wait_for(lambda: status(live_job) == "completed", timeout=60)
    healthy.terminate()

    victim_job.refresh_from_db()
    record("rescue of a SIGKILLed worker's job", did=3,
           lost=int(live_taken) + int(rescued_after > STALLED + 3),
           duplicated=rerun.count(),
           note=f"rescued {rescued_after:.1f} s after the kill (threshold {STALLED} s, heartbeat "
                f"{HEARTBEAT} s); {steps_before} stored steps kept; the job behind its lock ran; "
                "the live worker's job was left alone")
    assert STALLED - HEARTBEAT - 0.5 <= rescued_after <= STALLED + 3
    assert victim_job.attempts == 2 and victim_job.events.filter(kind="rescued").count() == 1
    assert rerun.count() == 0
    assert not live_taken


def test_a_vanished_workers_job_expires_at_its_maximum_and_its_lock_is_freed(
    short_thresholds, fault_worker
):
    stuck = create("faults-brief", key="k3", steps=100, step_seconds=0.2)
    behind = create("faults-brief", key="k3", steps=1, step_seconds=0)
    worker = fault_worker(**WORKER_ENV)
    wait_for(lambda: JobStep.objects.filter(job=stuck).exists(), timeout=60)
    worker.kill()
    stuck.refresh_from_db()
    limit = 3

    # Expiry alone: the rescue of its silent worker (2 s) would hand it back first.
    run_maintenance_until(lambda: status(stuck) == "failed", timeout=30, rescue=False)
    stuck.refresh_from_db()
    late_by = (stuck.completed_at - stuck.started_at).total_seconds() - limit
    replacement = fault_worker(**WORKER_ENV)
    wait_for(lambda: status(behind) == "completed", timeout=60)
    replacement.terminate()

    record("expiry of a running job whose worker vanished", did=2,
           lost=int(not 0 <= late_by <= 1.5), note=f"expired {late_by:.2f} s after its "
           f"{limit} s maximum; the job behind its lock then ran")
    assert stuck.error_kind == "expired" and stuck.attempts == 1
    assert 0 <= late_by <= 1.5


def test_a_pending_job_no_worker_takes_expires_and_never_runs(settings, fault_worker):
    settings.JOBS = {**settings.JOBS, "PENDING_EXPIRY_SECONDS": 2}
    job = create("faults-locked", key="k4", steps=1, step_seconds=0)

    waited = run_maintenance_until(lambda: status(job) == "failed", timeout=30)
    worker = fault_worker(**WORKER_ENV)
    time.sleep(2)  # a worker that would take the expired job had time to
    worker.terminate()

    job.refresh_from_db()
    record("expiry of a pending job", did=1, lost=int(not 2 <= waited <= 3.5),
           duplicated=job.attempts,
           note=f"expired {waited:.2f} s after creation (limit 2 s); never run after")
    assert job.error_kind == "expired" and job.attempts == 0
    assert 2 <= waited <= 3.5
