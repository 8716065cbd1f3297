"""Workers that come back: frozen past the stalled threshold and resumed, an expired
attempt still running when its job is retried, a worker pruned while alive.

A frozen process (SIGSTOP: a paused VM, a long GC or swap stall) is the case a
SIGKILL does not cover: after its jobs were rescued, it resumes and carries on
with them. The attempt fencing token (the README, "Attempts are fenced") must
make every one of its late writes change nothing: no job lost, no effect twice,
no completed step run again, every job's status agreeing with its queue row,
and the rescue never waiting behind the frozen process.
"""

from __future__ import annotations

import os
import random
import signal
import time
from typing import Any

import pytest
from django.db import connection

from jobs import lifecycle, maintenance
from jobs.models import Job, WorkerIncident
from tests.conftest import wait_for
from tests.faults.conftest import record

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.faults]

STALLED = 2.5
WORKER_ENV = {
    "WORKER_HEARTBEAT_SECONDS": "0.5", "WORKER_STALLED_SECONDS": str(STALLED),
    "JOBS_STALLED_WORKER_SECONDS": str(STALLED), "WORKER_POLL_SECONDS": "0.5",
    "WORKER_ABORT_POLL_SECONDS": "0.5", "WORKER_CONCURRENCY": "4",
    "JOBS_RETRY_BASE_SECONDS": "0",
}


@pytest.fixture(autouse=True)
def counted_tables(clean_queue: None) -> None:
    from tests.faults import fault_jobs

    fault_jobs.counted_tables()


def create(n: int, **input: Any) -> list[Job]:
    valid = lifecycle.job_validate_input(job_type="faults-counted", input=input)
    return [lifecycle.job_create(job_type="faults-counted", input=valid, organization=None)
            for _ in range(n)]


def scalar(sql: str, params: list[Any] | None = None) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchone()[0]


def counts(ids: list[Any]) -> dict[str, int]:
    ids = [str(i) for i in ids]
    return {
        "completed": Job.objects.filter(id__in=ids, status="completed").count(),
        "effects": scalar("SELECT count(*) FROM faults_effects WHERE job_id = ANY(%s::uuid[])",
                          [ids]),
        "jobs_with_effect": scalar(
            "SELECT count(DISTINCT job_id) FROM faults_effects WHERE job_id = ANY(%s::uuid[])",
            [ids]),
        # A completed step run again: an execution that began after the step's
        # result was stored, by the attempt that stored it or a later one (these
        # tests never retry, so `attempt` grows with the token). Such an attempt
        # was current when it checked the step, after the store: its check
        # should have returned the stored result.
        "steps_rerun": scalar(
            "SELECT count(*) FROM faults_step_runs r JOIN jobs_jobstep s"
            " ON s.job_id = r.job_id AND s.name = r.name"
            " WHERE r.started_at > s.created_at AND r.attempt >= s.attempt"
            " AND r.job_id = ANY(%s::uuid[])", [ids]),
        # A step whose first line ran after the store, by an attempt superseded
        # before it: it passed its check (one statement that also proves the
        # attempt current) before the rescue, then froze before the step's first
        # line. No check can close that window (the process may stop between any
        # check and the act); its result is refused when stored, and an effect
        # inside a step is fenced only if it checks the token itself.
        "late_zombie_steps": scalar(
            "SELECT count(*) FROM faults_step_runs r JOIN jobs_jobstep s"
            " ON s.job_id = r.job_id AND s.name = r.name"
            " WHERE r.started_at > s.created_at AND r.attempt < s.attempt"
            " AND r.job_id = ANY(%s::uuid[])", [ids]),
        "step_runs": scalar("SELECT count(*) FROM faults_step_runs WHERE job_id = ANY(%s::uuid[])",
                            [ids]),
        # The job's status and its current queue row's disagree.
        "disagree": scalar(
            "SELECT count(*) FROM jobs_job j LEFT JOIN procrastinate_jobs p"
            " ON p.id = j.procrastinate_job_id WHERE j.id = ANY(%s::uuid[]) AND NOT ("
            " (j.status = 'completed' AND p.status = 'succeeded')"
            " OR (j.status = 'failed' AND p.status IN ('failed', 'aborted', 'cancelled'))"
            " OR (j.status = 'cancelled' AND p.status IN ('cancelled', 'aborted')))", [ids]),
        # Queue rows of these jobs still waiting or running (superseded ones included).
        "open_rows": scalar(
            "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')"
            " AND (args ->> 'job_id')::uuid = ANY(%s::uuid[])", [ids]),
    }


def incidents() -> dict[str, int]:
    return dict(WorkerIncident.objects.values_list("kind", "count"))


def test_frozen_and_killed_workers_lose_nothing_and_duplicate_nothing(fault_worker):
    total = int(os.environ.get("FAULTS_FROZEN_JOBS", "600"))
    WorkerIncident.objects.all().delete()
    jobs = create(total, steps=3, step_seconds=0.15)
    ids = [j.id for j in jobs]
    workers = [fault_worker(**WORKER_ENV) for _ in range(3)]
    rng = random.Random(13)
    frozen: dict[int, float] = {}
    freezes = kills = rescued = 0
    rescue_seconds: list[float] = []
    next_fault = time.monotonic() + 1.5
    deadline = time.monotonic() + 900
    try:
        while time.monotonic() < deadline:
            now = time.monotonic()
            for i, resume_at in list(frozen.items()):
                if now >= resume_at:
                    os.kill(workers[i].proc.pid, signal.SIGCONT)
                    del frozen[i]
            started = time.monotonic()
            rescued += maintenance.rescue_stalled_jobs(seconds_since_heartbeat=STALLED)
            rescue_seconds.append(time.monotonic() - started)
            active = Job.objects.filter(id__in=ids, status__in=["pending", "running"]).exists()
            if not active and not frozen:
                break
            if active and now >= next_fault and len(frozen) < 2:
                i = rng.choice([k for k in range(len(workers)) if k not in frozen])
                if rng.random() < 0.65:
                    os.kill(workers[i].proc.pid, signal.SIGSTOP)
                    frozen[i] = now + rng.uniform(3.5, 6.0)
                    freezes += 1
                else:
                    workers[i].kill()
                    workers[i] = fault_worker(**WORKER_ENV)
                    kills += 1
                next_fault = now + rng.uniform(1.0, 2.5)
            time.sleep(0.5)
    finally:
        for i in frozen:
            os.kill(workers[i].proc.pid, signal.SIGCONT)
    # The resumed workers' late writes have all been tried once no row is open.
    try:
        wait_for(lambda: counts(ids)["open_rows"] == 0, timeout=60, interval=0.5)
    except AssertionError:
        pass  # counted below
    result = counts(ids)
    if result["open_rows"] or result["completed"] != total:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT j.id, j.status, j.attempts, j.procrastinate_job_id, p.status, p.worker_id,"
                " w.last_heartbeat FROM jobs_job j LEFT JOIN procrastinate_jobs p"
                " ON p.id = j.procrastinate_job_id LEFT JOIN procrastinate_workers w"
                " ON w.id = p.worker_id WHERE j.id = ANY(%s::uuid[])"
                " AND (j.status <> 'completed' OR p.status <> 'succeeded')",
                [[str(i) for i in ids]])
            print("UNFINISHED", cursor.fetchall())
            cursor.execute("SELECT id, last_heartbeat, now() FROM procrastinate_workers")
            print("WORKERS", cursor.fetchall(), [w.proc.pid for w in workers])
    alive = sum(w.proc.poll() is None for w in workers)
    seen = incidents()
    retried = Job.objects.filter(id__in=ids, attempts__gt=1).count()
    record(
        "workers frozen past the stalled threshold (SIGSTOP 3.5-6 s, then SIGCONT) and "
        "SIGKILLed (3 workers)",
        did=total, lost=total - result["completed"] + result["disagree"],
        duplicated=result["effects"] - result["jobs_with_effect"] + result["steps_rerun"],
        note=f"{freezes} freezes, {kills} kills; {rescued} rescues, {retried} jobs re-run; "
             f"rescue took at most {max(rescue_seconds):.2f} s (stalled threshold {STALLED} s); "
             f"{result['steps_rerun']} completed steps re-run of {result['step_runs']} step "
             f"runs ({result['late_zombie_steps']} begun late by a superseded attempt that "
             f"passed its check before the freeze); "
             f"{result['disagree']} jobs disagreeing with their queue row; "
             f"{alive}/3 workers alive; worker incidents {seen}",
    )
    assert result["completed"] == total, result
    assert result["effects"] == result["jobs_with_effect"] == total, result
    assert result["steps_rerun"] == 0, result
    assert result["disagree"] == 0 and result["open_rows"] == 0, result
    assert alive == 3
    assert max(rescue_seconds) < 2.0, max(rescue_seconds)
    assert freezes >= 5


def test_an_expired_attempt_still_running_when_its_job_is_retried_changes_nothing(
    fault_worker
):
    (job,) = create(1, steps=12, step_seconds=0.25)
    old_worker = fault_worker(**WORKER_ENV)
    wait_for(lambda: scalar("SELECT count(*) FROM jobs_jobstep WHERE job_id = %s",
                            [str(job.id)]) >= 2, timeout=60)
    os.kill(old_worker.proc.pid, signal.SIGSTOP)  # it cannot see the abort request
    try:
        old_token = Job.objects.get(id=job.id).procrastinate_job_id
        assert lifecycle.job_expire(job.id, reason="Expired: test", token=old_token)
        retried = lifecycle.job_retry(job.id, enforce_limits=False)
        assert retried.attempts == 0 and retried.procrastinate_job_id > old_token
        new_worker = fault_worker(**WORKER_ENV)
        wait_for(lambda: Job.objects.get(id=job.id).status == "completed", timeout=60)
        new_worker.terminate()
        events_before = job.events.count()
    finally:
        os.kill(old_worker.proc.pid, signal.SIGCONT)
    # The old attempt resumes: its queue row ends, and nothing of it lands.
    wait_for(lambda: scalar("SELECT status FROM procrastinate_jobs WHERE id = %s",
                            [old_token]) not in ("todo", "doing"), timeout=30)
    done = Job.objects.get(id=job.id)
    effects = scalar("SELECT count(*) FROM faults_effects WHERE job_id = %s", [str(job.id)])
    late_runs = scalar("SELECT count(*) FROM faults_step_runs WHERE job_id = %s AND token = %s"
                       " AND started_at > %s", [str(job.id), old_token, done.completed_at])
    record("expire, then retry, while the expired attempt still runs (frozen, resumed)",
           did=1, lost=int(done.status != "completed"), duplicated=effects - 1 + late_runs,
           note=f"old token {old_token}, new {done.procrastinate_job_id}; both 'attempt 1'; "
                f"{effects} effect; old worker alive: {old_worker.proc.poll() is None}; "
                f"{job.events.count() - events_before} events after the resume")
    assert done.status == "completed" and done.procrastinate_job_id == retried.procrastinate_job_id
    assert done.output == {"steps": 12, "attempt": 1}
    assert effects == 1 and late_runs == 0
    assert job.events.count() == events_before
    assert old_worker.proc.poll() is None


def test_a_worker_pruned_while_alive_registers_again_and_keeps_working(fault_worker):
    WorkerIncident.objects.all().delete()
    first = create(8, steps=4, step_seconds=0.25)
    worker = fault_worker(**WORKER_ENV)
    wait_for(lambda: Job.objects.filter(id__in=[j.id for j in first],
                                        status="running").exists(), timeout=60)
    os.kill(worker.proc.pid, signal.SIGSTOP)
    try:
        # Past the threshold: its row is pruned and its jobs handed on.
        wait_for(lambda: maintenance.rescue_stalled_jobs(seconds_since_heartbeat=STALLED) > 0
                 or not scalar("SELECT count(*) FROM procrastinate_workers"), timeout=30,
                 interval=0.5)
        maintenance.rescue_stalled_jobs(seconds_since_heartbeat=STALLED)
        assert scalar("SELECT count(*) FROM procrastinate_workers") == 0
    finally:
        os.kill(worker.proc.pid, signal.SIGCONT)
    # No other worker: the resumed one alone must finish the handed-on jobs and new ones.
    later = create(4, steps=1, step_seconds=0)
    ids = [j.id for j in first + later]
    wait_for(lambda: Job.objects.filter(id__in=ids, status="completed").count() == len(ids),
             timeout=90, interval=0.5)
    wait_for(lambda: incidents().get("worker_reregistered", 0) >= 1, timeout=10)
    result = counts(ids)
    record("worker pruned as stalled while alive (frozen, resumed)", did=len(ids),
           lost=len(ids) - result["completed"] + int(worker.proc.poll() is not None),
           duplicated=result["effects"] - result["jobs_with_effect"] + result["steps_rerun"],
           note=f"re-registered; worker incidents {incidents()}; all jobs finished by it")
    assert worker.proc.poll() is None
    assert result["effects"] == result["jobs_with_effect"] == len(ids)
    assert result["steps_rerun"] == 0 and result["disagree"] == 0
