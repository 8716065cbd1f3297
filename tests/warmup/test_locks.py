"""The warmups' locks: exclusion, a crashed holder frees them at once, a maximum hold."""

from __future__ import annotations

import json
import threading
import time

import pytest
from django.db import connection, connections

from jobs import maintenance
from jobs import tasks as job_tasks
from jobs.models import Job, LockLease, RunLog
from jobs.runlogs import WORKER_LOST
from tests.conftest import drain, wait_for
from tests.warmup.conftest import make_comparison
from warmup import names
from warmup.locks import WarmupLock


class Holder:
    """A lock holder on its own thread and database session, until told to let go."""

    def __init__(self, name: str, *, seconds: float = 60, release: bool = True) -> None:
        self.lock = WarmupLock(name, holder="holder", seconds=seconds)
        self.acquired: bool | None = None
        self.pid: int | None = None
        self.let_go = threading.Event()
        self.release = release
        self.thread = threading.Thread(target=self._run)
        self.ready = threading.Event()

    def _run(self) -> None:
        try:
            self.acquired = self.lock.acquire()
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                self.pid = cursor.fetchone()[0]
            self.ready.set()
            self.let_go.wait(10)
            if self.release:
                try:
                    self.lock.release()
                except Exception:  # its session may have been killed
                    pass
        finally:
            self.ready.set()
            connections["default"].close()

    def __enter__(self) -> Holder:
        self.thread.start()
        self.ready.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        self.let_go.set()
        self.thread.join(10)


@pytest.mark.django_db(transaction=True)
def test_one_holder_at_a_time_and_free_once_released():
    other = WarmupLock(names.FORECASTS_LOCK, holder="other", seconds=60)
    with Holder(names.FORECASTS_LOCK) as holder:
        assert holder.acquired is True
        assert other.acquire() is False
    assert other.acquire() is True
    other.release()


@pytest.mark.django_db(transaction=True)
def test_a_crashed_holders_lock_is_free_at_once():
    with Holder(names.AI_EXPLANATIONS_LOCK, release=False) as holder:
        assert holder.acquired is True
        with connection.cursor() as cursor:  # the server loses the holder's session
            cursor.execute("SELECT pg_terminate_backend(%s)", [holder.pid])

        after = WarmupLock(names.AI_EXPLANATIONS_LOCK, holder="next", seconds=60)
        started = time.monotonic()
        assert wait_for(after.acquire, timeout=2)
        assert time.monotonic() - started < 1
        assert LockLease.objects.get(name=names.AI_EXPLANATIONS_LOCK).holder == "next"
        after.release()


@pytest.mark.django_db(transaction=True)
def test_a_holder_past_its_maximum_has_lost_the_lock():
    with Holder("warmup:test:max", seconds=0.3) as holder:
        assert holder.lock.held()
        time.sleep(0.4)

        assert not holder.lock.held()
        # Until the overdue holder has stopped (at its next check), nobody
        # else runs: two runs never overlap.
        assert not WarmupLock("warmup:test:max", holder="next", seconds=60).acquire()
    after = WarmupLock("warmup:test:max", holder="next", seconds=60)
    assert after.acquire()
    after.release()


@pytest.mark.django_db(transaction=True)
def test_a_stale_lease_row_does_not_block_a_holder_of_the_advisory_lock():
    # A row left by a holder whose release failed half-way (its session lives on).
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO jobs_locklease (name, holder, holder_pid, acquired_at, expires_at) "
            "VALUES (%s, 'gone', pg_backend_pid(), now(), now() + interval '1 hour')",
            [names.FORECASTS_LOCK])

    lock = WarmupLock(names.FORECASTS_LOCK, holder="new", seconds=60)

    assert lock.acquire() and lock.held()
    lock.release()
    assert not LockLease.objects.filter(name=names.FORECASTS_LOCK).exists()


@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_process_frees_the_warmup_lock_at_once(
    worker_process, fake_openai, secrets, job_client
):
    release = threading.Event()

    def slow_reply(_rec):
        release.wait(20)
        return json.dumps({"meaning_explanation": "m", "peak_explanation": "p"})

    fake_openai.reply = slow_reply
    make_comparison("held-by-a-worker", views=20)
    response = job_client("/api/jobs/warmup-ai-explanations", {"limit": 1, "concurrency": 1})
    assert response.status_code == 202
    worker = worker_process(
        LLM_PROVIDER="openai", OPENAI_API_KEY="sk-test", OPENAI_BASE_URL=f"{fake_openai.url}/v1",
        LLM_TIMEOUT_SECONDS="30", LLM_REQUESTS_PER_SECOND="1000")
    try:
        wait_for(lambda: fake_openai.requests, timeout=30)  # mid-run, holding the lock
        assert not WarmupLock(names.AI_EXPLANATIONS_LOCK, holder="t", seconds=60).acquire()

        worker.kill()

        after = WarmupLock(names.AI_EXPLANATIONS_LOCK, holder="next", seconds=60)
        assert wait_for(after.acquire, timeout=3)
        after.release()
        job_id = response.json()["jobId"]
        assert Job.objects.get(id=job_id).status == "running"  # until rescued
        # The killed run never reached its `finally`: its log says running.
        assert list(RunLog.objects.filter(job_id=job_id).values_list("status", flat=True)) \
            == ["running"]
    finally:
        release.set()

    # Rescued, and run again to the end by another worker.
    assert maintenance.rescue_stalled_jobs(seconds_since_heartbeat=0) == 1
    drain()

    job = Job.objects.get(id=job_id)
    assert (job.status, job.attempts) == ("completed", 2)
    lost, rerun = RunLog.objects.filter(job=job).order_by("started_at", "id")
    # The second attempt's start closed the first attempt's log: no log stays running.
    assert (lost.status, lost.errors, lost.metadata["stopped"]) == (
        "failed", [WORKER_LOST], WORKER_LOST)
    assert lost.finished_at is not None and lost.finished_at <= rerun.started_at
    assert (rerun.status, rerun.processed, rerun.failed) == ("success", 1, 0)


@pytest.mark.django_db(transaction=True)
def test_the_rescue_task_fails_the_running_logs_of_jobs_no_longer_running(clean_queue):
    def job_with_log(status: str) -> RunLog:
        job = Job.objects.create(type=names.FORECASTS, status=status, input={})
        return RunLog.objects.create(job=job, job_type=names.FORECASTS)

    rescued = job_with_log("pending")  # its worker died; it waits for another one
    expired = job_with_log("failed")  # failed by the platform while its worker was gone
    alive = job_with_log("running")
    no_job = RunLog.objects.create(job=None, job_type="themes.schedule_scans")
    done = job_with_log("completed")
    RunLog.objects.filter(id=done.id).update(status="success")

    job_tasks.rescue_stalled_jobs(0)  # the periodic jobs.maintenance.rescue task

    statuses = dict(RunLog.objects.values_list("id", "status"))
    assert [statuses[log.id] for log in (rescued, expired, alive, no_job, done)] == [
        "failed", "failed", "running", "running", "success"]
    for log in (rescued, expired):
        log.refresh_from_db()
        assert log.errors == [WORKER_LOST] and log.finished_at is not None
