from __future__ import annotations

import pytest

from jobs.models import RunLog
from jobs.runlogs import run_log_count, run_log_finish, run_log_start

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
