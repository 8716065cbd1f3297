"""Locks under races and crashes (fast: runs in make test too).

- A process holding a session advisory lock and a lease (jobs.locks) is
  SIGKILLed: both are free again at once, without waiting for any expiry.
- Many on-demand warmups of one comparison requested at the same instant:
  one job is queued, every caller gets that one, and one runs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connections
from django.test import Client

from jobs import locks
from jobs.models import Job
from tests.conftest import drain, subprocess_env, wait_for
from tests.faults.conftest import record
from warmup import names
from warmup.services import comparison_create

pytestmark = pytest.mark.django_db(transaction=True)

BASE = Path(__file__).resolve().parents[2]
HOLDER = """
import django, os, sys, time
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from jobs import locks
assert locks.try_session_lock("faults:session")
assert locks.lease_acquire("faults:lease", holder="doomed", seconds=3600)
print("held", flush=True)
time.sleep(600)
"""


def test_locks_of_a_killed_holder_are_free_at_once(clean_queue):
    proc = subprocess.Popen([sys.executable, "-c", HOLDER], cwd=BASE, env=subprocess_env(),
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        held_session = not locks.try_session_lock("faults:session")
        held_lease = not locks.lease_acquire("faults:lease", holder="next", seconds=60)

        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        killed_at = time.monotonic()
        wait_for(lambda: locks.try_session_lock("faults:session"), timeout=10)
        wait_for(lambda: locks.lease_acquire("faults:lease", holder="next", seconds=60),
                 timeout=10)
        freed_after = time.monotonic() - killed_at
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    locks.release_session_lock("faults:session")
    locks.lease_release("faults:lease", holder="next")
    record("locks of a SIGKILLed holder (session lock and lease)", did=2,
           lost=0 if freed_after < 5 else 2,
           note=f"free again {freed_after:.2f} s after the kill (the lease was for an hour)")
    assert held_session and held_lease
    assert freed_after < 5


def simultaneous_warmups(slug: str, callers: int) -> list[dict]:
    barrier = threading.Barrier(callers)
    answers: list[dict] = []
    lock = threading.Lock()

    def call() -> None:
        try:
            client = Client()
            barrier.wait()
            response = client.post("/api/comparison/warmup", {"slug": slug},
                                   content_type="application/json",
                                   HTTP_X_WARMUP_SECRET="s3cret")
            with lock:
                answers.append({"status": response.status_code, **response.json()})
        finally:
            connections.close_all()

    threads = [threading.Thread(target=call) for _ in range(callers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def test_simultaneous_on_demand_warmups_of_one_comparison_queue_and_run_one(
    settings, clean_queue
):
    settings.WARMUP_SECRET = "s3cret"
    rounds = int(os.environ.get("FAULTS_ROUNDS", "20" if os.environ.get("FAULTS") else "3"))
    callers = 20
    queued_per_round: list[int] = []
    ran_per_round: list[int] = []
    for n in range(rounds):
        comparison = comparison_create(slug=f"race-{n}", term_a="a", term_b="b",
                                       series_a=[float(i % 7) for i in range(30)],
                                       series_b=[float(i % 5) for i in range(30)])
        answers = simultaneous_warmups(comparison.slug, callers)
        drain(queues=["default", "warmup"])
        scope = names.on_demand_scope(comparison.slug, comparison.data_hash)
        jobs = Job.objects.filter(type=names.ON_DEMAND, scope=scope)
        queued_per_round.append(sum(1 for a in answers if not a["alreadyQueued"]))
        ran_per_round.append(jobs.filter(attempts__gte=1).count())
        assert {a["status"] for a in answers} == {202}
        assert len({a["jobId"] for a in answers}) == 1, answers
        assert jobs.count() == 1 and jobs.get().status == "completed"
    record("simultaneous on-demand warmups of one comparison", did=rounds * callers,
           lost=sum(1 for q in queued_per_round if q != 1),
           duplicated=sum(r - 1 for r in ran_per_round if r > 1),
           note=f"{rounds} rounds of {callers} callers: queued per round "
                f"{sorted(set(queued_per_round))}, ran per round {sorted(set(ran_per_round))}")
    assert queued_per_round == [1] * rounds and ran_per_round == [1] * rounds
