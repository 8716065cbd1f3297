"""Periodic tasks with several workers: each tick of each schedule runs exactly once.

Three worker processes each run Procrastinate's periodic deferrer over the
same schedules (a test-only task every second and every two seconds, plus
the product's own periodic tasks). Midway, workers are stopped and replaced
(SIGTERM), so fresh deferrers catch up on ticks the others already deferred.
Every tick between the first and the last must have run once: none twice,
none missed.
"""

from __future__ import annotations

import os
import time

import pytest
from django.db import connection

from tests.conftest import wait_for
from tests.faults.conftest import record

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.faults]

WORKER_ENV = {"WORKER_POLL_SECONDS": "0.2", "WORKER_HEARTBEAT_SECONDS": "1", "FAULTS_TICKS": "1"}


@pytest.fixture
def tick_table(clean_queue):
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE faults_tick (schedule text, timestamp bigint, pid int, "
                       "at timestamptz DEFAULT now())")
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE faults_tick")


def rows(sql: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def test_each_tick_of_each_schedule_runs_exactly_once_across_three_workers(
    tick_table, fault_worker
):
    seconds = float(os.environ.get("FAULTS_SCHEDULE_SECONDS", "30"))
    workers = [fault_worker(**WORKER_ENV) for _ in range(3)]
    started = time.monotonic()
    replaced = 0
    while time.monotonic() - started < seconds:
        time.sleep(seconds / 4)
        if time.monotonic() - started < seconds * 0.8:
            victim = replaced % len(workers)
            workers[victim].terminate(timeout=30)
            workers[victim] = fault_worker(**WORKER_ENV)
            replaced += 1
    # Let the last deferred ticks run, then stop every deferrer.
    wait_for(lambda: not rows("SELECT 1 FROM procrastinate_jobs WHERE queue_name = 'faults' "
                              "AND status IN ('todo', 'doing')"), timeout=30)
    for worker in workers:
        worker.terminate(timeout=30)

    ticks = rows("SELECT schedule, timestamp, count(*), count(DISTINCT pid) FROM faults_tick "
                 "GROUP BY 1, 2 ORDER BY 1, 2")
    runners = rows("SELECT count(DISTINCT pid) FROM faults_tick")[0][0]
    by_schedule: dict[str, dict[int, int]] = {}
    for schedule, timestamp, count, _pids in ticks:
        by_schedule.setdefault(schedule, {})[timestamp] = count
    missed = duplicated = total = 0
    for schedule, step in (("every-second", 1), ("every-two-seconds", 2)):
        seen = by_schedule.get(schedule, {})
        assert seen, f"no tick of {schedule} ran"
        expected = range(min(seen), max(seen) + 1, step)
        missed += sum(1 for ts in expected if ts not in seen)
        duplicated += sum(count - 1 for count in seen.values())
        total += len(expected)
    # The product's own periodic tasks: one queue row per tick, whoever deferred it.
    product_dupes = rows(
        "SELECT task_name, args->>'timestamp', count(*) FROM procrastinate_jobs "
        "WHERE args ? 'timestamp' AND task_name <> 'faults.tick' GROUP BY 1, 2 "
        "HAVING count(*) > 1")
    product_ticks = rows("SELECT count(*) FROM procrastinate_jobs WHERE args ? 'timestamp' "
                         "AND task_name <> 'faults.tick'")[0][0]
    record("periodic ticks with 3 workers (workers replaced midway)",
           did=total + product_ticks, lost=missed, duplicated=duplicated + len(product_dupes),
           note=f"{seconds:.0f} s, 2 test schedules and the product's; {replaced} workers "
                f"replaced; ticks ran in {runners} processes")
    assert missed == 0 and duplicated == 0
    assert not product_dupes
    assert runners >= 2  # the work was shared: a lone deferrer proves nothing
