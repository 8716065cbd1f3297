"""PostgreSQL restarted in the middle of a run.

The test runs its own cluster (tests/faults/cluster.py), never the shared one:
two `manage.py procrastinate worker` processes and the web server
(`manage.py serve --no-worker`, uvicorn as in production) point at it, jobs are
created through the API, and the server is restarted (`pg_ctl restart -m fast`,
which ends every session) while jobs run, then again with `-m immediate` (a
crash: no shutdown checkpoint, crash recovery on start). The processes must
reconnect by themselves: nobody restarts them, and maintenance is not run by
the test (the workers' own periodic tasks are all there is). Every job ends
`completed`, with its side effect written once and no step run twice; the web
server answers the polls and creates jobs again after each restart.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.faults.cluster import (
    ProjectProcess,
    TempCluster,
    free_port,
    manage,
    wait_until,
)
from tests.faults.conftest import record

pytestmark = [pytest.mark.faults]

WORKER_ENV = {
    "WORKER_CONCURRENCY": "4", "WORKER_POLL_SECONDS": "0.5", "WORKER_HEARTBEAT_SECONDS": "1",
    "WORKER_STALLED_SECONDS": "5", "JOBS_STALLED_WORKER_SECONDS": "5",
    "JOBS_RETRY_BASE_SECONDS": "0",
}
WEB_ENV = {"JOBS_LIMIT_PER_ORG": "100000", "JOBS_LIMIT_PER_USER": "100000"}
JOB_INPUT = {"steps": 3, "step_seconds": 0.1, "effect": True}

SETUP = """
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from jobs.models import Membership, Organization
org = Organization.objects.create(name="Restart", slug="restart")
user = get_user_model().objects.create_user(username="restart", password="pw")
Membership.objects.create(user=user, organization=org)
print("TOKEN=" + Token.objects.create(user=user).key)
"""


@pytest.fixture
def cluster() -> Iterator[TempCluster]:
    c = TempCluster()
    try:
        yield c.start()
    finally:
        c.stop()


class Api:
    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"

    def create(self) -> str:
        r = self.session.post(f"{self.base}/api/jobs", json={"type": "diagnostic",
                                                             "input": JOB_INPUT}, timeout=10)
        assert r.status_code == 201, (r.status_code, r.text[:500])
        return str(r.json()["id"])

    def get(self, job_id: str) -> requests.Response:
        return self.session.get(f"{self.base}/api/jobs/{job_id}", timeout=10)


def test_postgres_restarts_mid_run_lose_nothing(cluster, processes):
    url = cluster.url()
    manage(url, "migrate", "--noinput", timeout=180)
    out = manage(url, "shell", "-c", SETUP).stdout
    token = out.split("TOKEN=")[1].split()[0]
    logs = Path(tempfile.mkdtemp(prefix="plinth-faults-logs-"))

    port = free_port()
    web = ProjectProcess(["manage.py", "serve", "--no-worker", "--no-demo", "--port", str(port)],
                         url, log=logs / "web.log", **WEB_ENV)
    processes.append(web)
    workers = [ProjectProcess(["manage.py", "procrastinate", "worker"], url,
                              log=logs / f"worker{i}.log", **WORKER_ENV) for i in range(2)]
    processes.extend(workers)
    api = Api(f"http://127.0.0.1:{port}", token)
    wait_until(lambda: api.session.get(f"{api.base}/api/jobs/types", timeout=2).ok, 60,
               what=f"the web server to answer\n{web.output()}")

    def completed() -> int:
        return int(cluster.scalar(
            "SELECT count(*) FROM jobs_job WHERE status = 'completed'"))

    ids = [api.create() for _ in range(120)]
    restarts: list[dict[str, Any]] = []
    for mode, at in (("fast", 30), ("immediate", 120)):
        wait_until(lambda at=at: completed() >= at, 90, what=f"{at} jobs completed")
        running_ids = [str(r[0]) for r in cluster.query(
            "SELECT id FROM jobs_job WHERE status = 'running'")]
        running = len(running_ids)
        started = time.monotonic()
        cluster.restart(mode)
        back = time.monotonic()
        # The web server answers again, on its own: the fast poll path and DRF's.
        poll = api.get(ids[0])
        created = api.create()
        ids.append(created)
        assert poll.status_code == 200, (mode, poll.status_code, poll.text[:300], web.output())
        # The jobs running at the restart (their replies may have been lost) finish
        # within seconds of the server being back, not at their expiry minutes later.
        if running_ids:
            try:
                wait_until(lambda ids=running_ids: int(cluster.scalar(
                    "SELECT count(*) FROM jobs_job WHERE status = 'completed' AND id::text = "
                    "ANY(%s)", [ids])) == len(ids), 30, interval=0.2,
                    what=f"the {len(running_ids)} jobs running at the {mode} restart completed")
            except AssertionError as exc:
                raise AssertionError(f"{exc}\n{_explain(cluster, running_ids)}") from None
        restarts.append({"mode": mode, "running": running, "poll": poll.status_code,
                         "seconds": round(time.monotonic() - started, 1),
                         "finished_after": round(time.monotonic() - back, 1)})
        ids += [api.create() for _ in range(39)]

    total = len(ids)
    try:
        try:
            wait_until(lambda: completed() >= total, 120, interval=0.5,
                       what="every job completed")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{_explain(cluster, ids)}") from None
    finally:
        statuses = dict(cluster.query(
            "SELECT status, count(*) FROM jobs_job GROUP BY status"))
        effects = int(cluster.scalar("SELECT count(*) FROM jobs_diagnosticeffect"))
        rerun = int(cluster.scalar(
            "SELECT count(*) FROM jobs_jobstep s JOIN jobs_job j ON j.id = s.job_id "
            "WHERE s.attempt > j.attempts"))
        retried = int(cluster.scalar("SELECT count(*) FROM jobs_job WHERE attempts > 1"))
        alive = sum(p.alive for p in processes)
        done = statuses.get("completed", 0)
        record(
            "Postgres restarted mid-run (fast, then immediate)", did=total, lost=total - done,
            duplicated=max(0, effects - done) + rerun,
            note=f"2 workers + web server reconnected by themselves; jobs running at the "
                 f"restarts: {[r['running'] for r in restarts]}, all completed "
                 f"{[r['finished_after'] for r in restarts]} s after the server was back; "
                 f"{retried} jobs re-run; "
                 f"statuses {statuses}; {alive}/3 processes alive",
        )
    for p in processes:
        assert p.alive, p.output()
    assert statuses == {"completed": total}
    assert effects == total
    assert rerun == 0
    steps = dict(cluster.query(
        "SELECT n, count(*) FROM (SELECT job_id, count(*) AS n FROM jobs_jobstep "
        "GROUP BY job_id) s GROUP BY n"))
    assert steps == {3: total}
    for job_id in (ids[0], ids[-1]):
        r = api.get(job_id)
        assert r.status_code == 200 and r.json()["status"] == "completed", r.text[:300]


def _explain(cluster: TempCluster, ids: list[str]) -> str:
    """The jobs that did not finish: their rows, queue rows and events."""
    rows = cluster.query(
        "SELECT j.id, j.status, j.attempts, j.procrastinate_job_id, p.status, p.attempts,"
        " p.scheduled_at, p.worker_id FROM jobs_job j LEFT JOIN procrastinate_jobs p"
        " ON p.id = j.procrastinate_job_id WHERE j.status <> 'completed' AND j.id::text = ANY(%s)",
        [ids])
    events = cluster.query(
        "SELECT job_id, kind, from_status, to_status, message, data, created_at FROM jobs_jobevent"
        " WHERE job_id::text = ANY(%s) ORDER BY job_id, id", [[str(r[0]) for r in rows]])
    queue = cluster.query(
        "SELECT id, status, attempts, scheduled_at, worker_id, args FROM procrastinate_jobs"
        " WHERE args->>'job_id' = ANY(%s)", [[str(r[0]) for r in rows]])
    return "\n".join(["jobs:", *map(str, rows), "queue rows:", *map(str, queue),
                      "events:", *map(str, events)])
