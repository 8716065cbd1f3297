"""Workers on two other hosts, and one host's link cut in the middle of its jobs.

Each host is a network namespace made by the test (`ip netns`), with a veth
pair to the root namespace, where the test's own PostgreSQL cluster
(tests/faults/cluster.py) listens on the root-side addresses: host1 reaches it
at 10.213.1.1, host2 at 10.213.2.1, as separate machines would. The server's
TCP keepalives are short, so it notices a dead host within seconds. One
`manage.py procrastinate worker` runs in each namespace; both drain the
default queue. A maintenance process (jobs.maintenance's rescue and expiry,
with short thresholds) runs in the root namespace, as a third machine would.

While host1 has jobs running, its link is cut (`ip link set ... down`: no RST,
no FIN, its packets just stop). Its jobs must be rescued once its heartbeat is
stale and finished by host2; then the link comes back, and host1's late
writes (its attempts' progress, steps and completion) must change nothing:
lifecycle transitions are filtered by attempt.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.cluster import ProjectProcess, TempCluster, manage, wait_until
from tests.faults.conftest import record

pytestmark = [pytest.mark.faults]

IP = shutil.which("ip") or "/usr/sbin/ip"
HOSTS = {  # name: (root-side veth, namespace-side veth, root address, host address)
    "plinth-host1": ("pjh1r", "pjh1n", "10.213.1.1", "10.213.1.2"),
    "plinth-host2": ("pjh2r", "pjh2n", "10.213.2.1", "10.213.2.2"),
}
HEARTBEAT, STALLED = 0.5, 3
WORKER_ENV = {
    "WORKER_CONCURRENCY": "3", "WORKER_POLL_SECONDS": "0.3",
    "WORKER_HEARTBEAT_SECONDS": str(HEARTBEAT), "WORKER_STALLED_SECONDS": str(STALLED),
    "JOBS_STALLED_WORKER_SECONDS": str(STALLED), "JOBS_RETRY_BASE_SECONDS": "0",
}
JOBS = 24
JOB_INPUT = {"steps": 10, "step_seconds": 0.3, "effect": True}

CREATE = f"""
from jobs import lifecycle
valid = lifecycle.job_validate_input(job_type="diagnostic", input={JOB_INPUT!r})
for _ in range({JOBS}):
    lifecycle.job_create(job_type="diagnostic", input=valid, organization=None)
"""
MAINTENANCE = """
import time
from jobs import maintenance
while True:
    maintenance.rescue_stalled_jobs()
    maintenance.expire_stuck_jobs()
    time.sleep(0.25)
"""


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([IP, *args], capture_output=True, text=True)
    if check and result.returncode:
        raise RuntimeError(f"ip {' '.join(args)}: {result.stderr.strip()}")
    return result


def _remove_hosts() -> None:
    for name, (root_if, *_rest) in HOSTS.items():
        ip("link", "del", root_if, check=False)
        ip("netns", "del", name, check=False)


@pytest.fixture
def hosts() -> Iterator[dict[str, tuple[str, str, str, str]]]:
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root (ip netns add): not running as root")
    _remove_hosts()  # leftovers of an interrupted run
    probe = ip("netns", "add", "plinth-probe", check=False)
    if probe.returncode:
        pytest.skip(f"`ip netns add` is not permitted here: {probe.stderr.strip()}")
    ip("netns", "del", "plinth-probe", check=False)
    try:
        for name, (root_if, ns_if, root_addr, host_addr) in HOSTS.items():
            ip("netns", "add", name)
            ip("link", "add", root_if, "type", "veth", "peer", "name", ns_if)
            ip("link", "set", ns_if, "netns", name)
            ip("addr", "add", f"{root_addr}/30", "dev", root_if)
            ip("link", "set", root_if, "up")
            ip("netns", "exec", name, IP, "addr", "add", f"{host_addr}/30", "dev", ns_if)
            ip("netns", "exec", name, IP, "link", "set", ns_if, "up")
            ip("netns", "exec", name, IP, "link", "set", "lo", "up")
        yield HOSTS
    finally:
        _remove_hosts()


@pytest.fixture
def cluster(hosts) -> Iterator[TempCluster]:
    c = TempCluster(
        listen=["127.0.0.1", *(h[2] for h in hosts.values())],
        trust_networks=["10.213.0.0/16"],
        settings={"tcp_keepalives_idle": "2", "tcp_keepalives_interval": "1",
                  "tcp_keepalives_count": "2"},
    )
    try:
        yield c.start()
    finally:
        c.stop()


def test_a_cut_host_is_rescued_by_the_other_and_its_late_writes_change_nothing(
    hosts, cluster, processes
):
    manage(cluster.url(), "migrate", "--noinput", timeout=180)
    logs = Path(tempfile.mkdtemp(prefix="plinth-faults-hosts-"))

    def worker(name: str) -> ProjectProcess:
        url = cluster.url(host=hosts[name][2])
        proc = ProjectProcess(["manage.py", "procrastinate", "worker", "--queues", "default"],
                              url, log=logs / f"{name}.log",
                              prefix=[IP, "netns", "exec", name], **WORKER_ENV)
        processes.append(proc)
        return proc

    def worker_ids() -> set[int]:
        return {r[0] for r in cluster.query("SELECT id FROM procrastinate_workers")}

    host1 = worker("plinth-host1")
    host1_id = wait_until(lambda: next(iter(worker_ids()), None), 60,
                          what=f"host1's worker to register\n{host1.output()}")
    peer = cluster.scalar("SELECT count(*) FROM pg_stat_activity WHERE client_addr = %s",
                          [hosts["plinth-host1"][3]])
    assert peer >= 1, "host1 does not reach the database through its own link"
    manage(cluster.url(), "shell", "-c", CREATE)
    host2 = worker("plinth-host2")
    wait_until(lambda: len(worker_ids()) == 2, 60, what=f"host2's worker\n{host2.output()}")
    maintenance = ProjectProcess(["manage.py", "shell", "-c", MAINTENANCE], cluster.url(),
                                 log=logs / "maintenance.log", **WORKER_ENV)
    processes.append(maintenance)

    def doing_on_host1() -> list[int]:
        return [r[0] for r in cluster.query(
            "SELECT id FROM procrastinate_jobs WHERE status = 'doing' AND worker_id = %s",
            [host1_id])]

    # Cut host1 once it has a full hand of jobs with steps done.
    wait_until(lambda: len(doing_on_host1()) >= 3 and cluster.scalar(
        "SELECT count(*) FROM jobs_jobstep s JOIN jobs_job j ON j.id = s.job_id "
        "JOIN procrastinate_jobs p ON p.id = j.procrastinate_job_id "
        "WHERE p.worker_id = %s AND p.status = 'doing'", [host1_id]) >= 3, 60,
        what="host1 running jobs")
    cut_jobs = [str(r[0]) for r in cluster.query(
        "SELECT id FROM jobs_job WHERE procrastinate_job_id = ANY(%s)", [doing_on_host1()])]
    ip("link", "set", hosts["plinth-host1"][0], "down")
    cut_at = time.monotonic()

    def finished() -> bool:
        return cluster.scalar(
            "SELECT count(*) FROM jobs_job WHERE status = 'completed'") == JOBS

    try:
        wait_until(finished, 90, interval=0.25, what="every job completed")
        all_done_after = time.monotonic() - cut_at
    finally:
        ip("link", "set", hosts["plinth-host1"][0], "up")
    restored_at = time.monotonic()
    # Give host1 time to wake up and send what it had in flight.
    time.sleep(10)

    rows = cluster.query(
        "SELECT j.id::text, j.status, j.attempts, j.output, e.attempt "
        "FROM jobs_job j LEFT JOIN jobs_diagnosticeffect e ON e.job_id = j.id")
    statuses = {r[1] for r in rows}
    completed = [r for r in rows if r[1] == "completed"]
    cut = [r for r in rows if r[0] in cut_jobs]
    # The result is the rescuing attempt's, everywhere.
    wrong_result = [r for r in cut if r[2] < 2 or r[3]["attempt"] != r[2] or r[4] != r[2]]
    rescued = cluster.scalar(
        "SELECT count(DISTINCT job_id) FROM jobs_jobevent WHERE kind = 'rescued' "
        "AND job_id = ANY(%s::uuid[])", [cut_jobs])
    completions = dict(cluster.query(
        "SELECT job_id::text, count(*) FROM jobs_jobevent WHERE kind = 'completed' "
        "GROUP BY job_id"))
    duplicated = sum(n - 1 for n in completions.values() if n > 1)
    # No transition at all after a job's completion (a late one would be one).
    late = cluster.scalar(
        "SELECT count(*) FROM jobs_jobevent e JOIN ("
        "  SELECT job_id, max(id) AS done FROM jobs_jobevent WHERE kind = 'completed'"
        "  GROUP BY job_id) c ON c.job_id = e.job_id AND e.id > c.done")
    host2_alive = host2.alive
    host1_state = "alive" if host1.alive else f"exited {host1.proc.returncode}"
    record(
        "worker host's link cut mid-job (2 netns hosts)", did=JOBS,
        lost=JOBS - len(completed) + len(wrong_result) + late,
        duplicated=duplicated,
        note=f"{len(cut_jobs)} jobs running on the cut host, {rescued} rescued and finished "
             f"by the other host; all done {all_done_after:.1f} s after the cut (stalled "
             f"threshold {STALLED} s); 0 late writes applied in the "
             f"{time.monotonic() - restored_at:.0f} s after the link came back "
             f"(cut host {host1_state})" if not late else f"{late} late transitions applied",
    )
    assert statuses == {"completed"}, (statuses, host2.output())
    assert host2_alive, host2.output()
    assert rescued == len(cut_jobs), (rescued, cut_jobs, maintenance.output())
    assert not wrong_result, wrong_result
    assert duplicated == 0 and late == 0
    assert len(completed) == JOBS and all(r[4] is not None for r in rows)
