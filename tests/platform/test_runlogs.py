from __future__ import annotations

import pytest

from jobs.errors import JobAbort, PermanentJobError
from jobs.models import RunLog
from jobs.runlogs import run_log, run_log_count, run_log_finish, run_log_start

pytestmark = pytest.mark.django_db


def test_a_run_log_counts_and_keeps_at_most_ten_errors():
    log = run_log_start(job_type="warmup-forecasts", metadata={"limit": 50})
    for _ in range(3):
        run_log_count(log, ok=True)
    for i in range(12):
        run_log_count(log, ok=False, error=f"comparison {i} failed")

    run_log_finish(log, status=RunLog.Status.SUCCESS, metadata={"concurrency": 5})

    stored = RunLog.objects.get(id=log.id)
    assert stored.status == "success"
    assert (stored.processed, stored.failed) == (3, 12)
    assert stored.errors == [f"comparison {i} failed" for i in range(10)]
    assert stored.metadata == {"limit": 50, "concurrency": 5}
    assert stored.finished_at is not None and stored.duration_ms >= 0


def test_a_started_run_log_reads_running():
    log = run_log_start(job_type="x")
    assert RunLog.objects.get(id=log.id).status == "running"


def test_run_log_finishes_a_block_that_ends_as_success_with_its_counts():
    with run_log(job_type="x", metadata={"limit": 5}) as log:
        assert RunLog.objects.get(id=log.id).status == "running"
        run_log_count(log, ok=True)
        run_log_count(log, ok=False, error="one failed")
        log.metadata["selected"] = ["a", "b"]

    stored = RunLog.objects.get(id=log.id)
    assert (stored.status, stored.processed, stored.failed) == ("success", 1, 1)
    assert stored.errors == ["one failed"]
    assert stored.metadata == {"limit": 5, "selected": ["a", "b"]}
    assert stored.finished_at is not None


def test_run_log_keeps_the_status_the_block_set():
    with run_log(job_type="x") as log:
        log.status = RunLog.Status.SKIPPED

    assert RunLog.objects.get(id=log.id).status == "skipped"


def test_run_log_fails_a_block_that_raises_and_keeps_its_message_once():
    with pytest.raises(PermanentJobError), run_log(job_type="x") as log:
        log.errors.append("Stopped: the lock was lost")  # noted before raising
        raise PermanentJobError("Stopped: the lock was lost")
    with pytest.raises(ValueError), run_log(job_type="y") as other:
        raise ValueError("bad input")

    stored = RunLog.objects.get(id=log.id)
    assert (stored.status, stored.errors) == ("failed", ["Stopped: the lock was lost"])
    assert RunLog.objects.get(id=other.id).errors == ["bad input"]


def test_run_log_marks_an_aborted_block():
    with pytest.raises(JobAbort), run_log(job_type="x") as log:
        raise JobAbort("cancelled")

    stored = RunLog.objects.get(id=log.id)
    assert (stored.status, stored.metadata, stored.errors) == ("failed", {"aborted": True}, [])
