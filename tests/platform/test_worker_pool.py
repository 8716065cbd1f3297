"""Sync handlers run on a thread pool sized to the worker's concurrency (no hidden cap of 6)."""

from __future__ import annotations

import asyncio

import pytest

from jobs import lifecycle
from jobs.models import Job, Organization
from jobs.workerpool import ensure_pool, pool_size
from tests.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def create(org: Organization, **input: object) -> Job:
    return lifecycle.job_create(
        job_type="diagnostic",
        input=lifecycle.job_validate_input(job_type="diagnostic", input=input),
        organization=org,
        enforce_limits=False,
    )


def test_worker_concurrency_20_runs_20_sync_jobs_at_once(org, worker_process):
    # 25 jobs of one 60 s step: the worker (WORKER_CONCURRENCY=20, a real process)
    # must hold 20 of them running at the same time, and never more.
    jobs = [create(org, steps=1, step_seconds=60) for _ in range(25)]
    ids = [j.id for j in jobs]
    worker_process(WORKER_CONCURRENCY="20", WORKER_POLL_SECONDS="0.2")

    def running() -> int:
        return Job.objects.filter(id__in=ids, status="running").count()

    peak = wait_for(lambda: running() >= 20 and running(), timeout=60, interval=0.1)
    assert peak == 20
    # The other 5 wait: their handlers would be sleeping on threads otherwise.
    assert Job.objects.filter(id__in=ids, status="pending").count() == 5
    for job_id in ids:
        lifecycle.job_cancel(job_id)


def test_the_pool_grows_to_the_concurrency_and_never_shrinks():
    loop = asyncio.new_event_loop()
    try:
        assert pool_size(loop) is None
        first = ensure_pool(loop, 20)
        assert pool_size(loop) == 20
        assert ensure_pool(loop, 4) is first
        assert ensure_pool(loop, 50)._max_workers == 50
        assert loop._default_executor is not first
    finally:
        loop.close()
