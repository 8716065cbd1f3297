"""A worker never dies of a job it lost (jobs.resilience): it logs, counts and goes on."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from django.db import connection
from procrastinate.jobs import Status

from jobs import lifecycle
from jobs.models import DiagnosticEffect, Job, JobStep, WorkerIncident
from ops import prometheus
from tests.conftest import create_diagnostic as create
from tests.conftest import job_status, wait_for, worker_app

pytestmark = pytest.mark.django_db(transaction=True)



def incidents(kind: str) -> int:
    return WorkerIncident.objects.filter(kind=kind).values_list("count", flat=True).first() or 0


def queue_status(pid: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT status FROM procrastinate_jobs WHERE id = %s", [pid])
        return cursor.fetchone()[0]


def test_a_refused_finish_is_counted_and_raises_nothing(org, clean_queue):
    job = create(org)
    old = job.procrastinate_job_id
    with connection.cursor() as cursor:
        cursor.execute("UPDATE procrastinate_jobs SET status = 'doing' WHERE id = %s", [old])
    lifecycle.job_rescue(job.id, token=old, reason="test")

    async def finish() -> None:
        async with worker_app().open_async() as app:
            await app.job_manager.finish_job_by_id_async(
                job_id=old, status=Status.SUCCEEDED, delete_job=False)

    asyncio.run(finish())  # Procrastinate's finish of a superseded row: no exception
    assert queue_status(old) == "aborted"
    assert incidents("finish_refused") == 1
    text = prometheus.render().decode()
    assert 'plinth_worker_incidents_total{kind="finish_refused"} 1.0' in text


def test_a_worker_whose_running_job_was_handed_on_finishes_it_and_goes_on(
    org, worker_process
):
    job = create(org, steps=40, step_seconds=0.05, effect=True)
    worker = worker_process("--concurrency", "2")
    wait_for(lambda: JobStep.objects.filter(job=job).count() >= 3, timeout=30)
    old = Job.objects.get(id=job.id)

    # As if its worker had frozen past the stalled threshold: handed to a new attempt.
    # A rescue skips a job row its worker holds locked that instant (a progress
    # write) and the next rescue finds it: try until one takes it, as the sweep would.
    assert wait_for(lambda: lifecycle.job_rescue(
        job.id, token=old.procrastinate_job_id, reason="test"), timeout=10, interval=0.01)

    wait_for(lambda: job_status(job.id) == "completed", timeout=60)
    wait_for(lambda: incidents("finish_refused") >= 1, timeout=20)
    assert worker.proc.poll() is None  # the worker lives
    assert DiagnosticEffect.objects.filter(job_id=job.id).count() == 1
    assert JobStep.objects.filter(job=job).count() == 40
    assert queue_status(old.procrastinate_job_id) == "aborted"
    # ... and still runs what comes next.
    later = create(org, steps=1)
    wait_for(lambda: job_status(later.id) == "completed", timeout=30)


def test_a_worker_pruned_while_alive_registers_again_and_keeps_working(
    org, background_worker
):
    background_worker(update_heartbeat_interval=0.2)
    first = create(org, steps=1)
    wait_for(lambda: job_status(first.id) == "completed", timeout=30)
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM procrastinate_workers")
        (worker_id,) = cursor.fetchone()
        cursor.execute("DELETE FROM procrastinate_workers")  # pruned as stalled

    second = create(org, steps=1)

    wait_for(lambda: job_status(second.id) == "completed", timeout=30)
    wait_for(lambda: incidents("worker_reregistered") >= 1, timeout=10)
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM procrastinate_workers")
        assert [r[0] for r in cursor.fetchall()] == [worker_id]


def test_a_fetch_whose_reply_was_lost_does_not_strand_its_row(org, clean_queue, monkeypatch):
    import psycopg
    from procrastinate import exceptions as pexc
    from procrastinate import psycopg_connector
    from procrastinate import sql as procrastinate_sql

    job = create(org)
    original = psycopg_connector.PsycopgConnector.execute_query_one_async
    lost = {"n": 0}

    async def reply_lost_once(self: Any, query: Any, **arguments: Any) -> Any:
        row = await original(self, query, **arguments)
        if query == procrastinate_sql.queries["fetch_job"] and not lost["n"]:
            lost["n"] += 1  # committed on the server; the reply never arrives
            raise pexc.ConnectorException() from psycopg.OperationalError("server closed")
        return row

    monkeypatch.setattr(psycopg_connector.PsycopgConnector, "execute_query_one_async",
                        reply_lost_once)

    async def fetch() -> Any:
        async with worker_app().open_async() as app:
            worker_id = await app.job_manager.register_worker()
            return await app.job_manager.fetch_job(queues=None, worker_id=worker_id)

    fetched = asyncio.run(fetch())

    assert lost["n"] == 1
    assert fetched is not None and fetched.id == job.procrastinate_job_id
    assert queue_status(job.procrastinate_job_id) == "doing"
