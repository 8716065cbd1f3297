"""The in-run concurrency bound, measured by Postgres, and what a batch records."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections

from tests.conftest import wait_for
from warmup.batch import batch_run


def active_sleepers() -> int:
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND state = 'active' AND query LIKE 'SELECT pg_sleep(0.02) /* warmup-batch */%%'")
        return int(cursor.fetchone()[0])


def live(pids: set[int]) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE pid = ANY(%s)", [list(pids)])
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("concurrency", [5, 3])
def test_never_more_than_concurrency_items_at_once_as_postgres_sees_it(concurrency):
    samples: list[int] = []
    done = threading.Event()
    reached = threading.Event()

    def watch() -> None:
        while not done.is_set():
            samples.append(active_sleepers())
            if samples[-1] >= concurrency:
                reached.set()
            time.sleep(0.01)
        connections["default"].close()

    def sleep_in_postgres(_item: int) -> None:
        # Each item stays in Postgres until the watcher has seen `concurrency` of
        # them at once (or 10 s pass): on a loaded machine the threads' starts
        # spread out, and items of a fixed length did not always overlap.
        deadline = time.monotonic() + 10
        with connection.cursor() as cursor:
            while True:
                cursor.execute("SELECT pg_sleep(0.02) /* warmup-batch */")
                if reached.is_set() or time.monotonic() > deadline:
                    return

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        result = batch_run(list(range(12)), sleep_in_postgres, concurrency=concurrency)
    finally:
        done.set()
        watcher.join()

    assert max(samples) == concurrency  # reached, never passed
    assert result.max_in_flight == concurrency
    assert sorted(result.done) == list(range(12))


@pytest.mark.django_db(transaction=True)
def test_each_thread_closes_its_connection():
    pids: set[int] = set()

    def work(_item: int) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pids.add(cursor.fetchone()[0])

    batch_run(list(range(6)), work, concurrency=3)

    assert len(pids) >= 2  # the threads had their own connections
    assert wait_for(lambda: not live(pids), timeout=2)


@pytest.mark.django_db(transaction=True)
def test_a_failing_item_is_recorded_and_the_others_still_run():
    seen: list[tuple[int, str | None]] = []

    def work(item: int) -> None:
        if item % 3 == 0:
            raise ValueError(f"bad item {item}")

    result = batch_run(list(range(7)), work, concurrency=2,
                       on_result=lambda item, error: seen.append((item, error and str(error))))

    assert sorted(result.done) == [1, 2, 4, 5]
    assert sorted((item, str(error)) for item, error in result.failed) == [
        (0, "bad item 0"), (3, "bad item 3"), (6, "bad item 6")]
    assert len(seen) == 7


@pytest.mark.django_db(transaction=True)
def test_once_told_to_stop_the_rest_are_skipped():
    started: list[int] = []
    stop = threading.Event()

    def work(item: int) -> None:
        started.append(item)
        if item == 2:
            stop.set()

    result = batch_run(list(range(10)), work, concurrency=1, should_stop=stop.is_set)

    assert started == [0, 1, 2]
    assert result.skipped == list(range(3, 10))


def test_concurrency_must_be_positive():
    with pytest.raises(ValueError):
        batch_run([1], lambda item: None, concurrency=0)
