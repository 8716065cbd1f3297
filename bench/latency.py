"""3. Pickup latency: one idle worker; jobs created one at a time at about
`latency_rate` per second. From the commit of the create (the creating call
returned) to `running` and to `completed`:

- platform: `Job.started_at` / `Job.completed_at` (set by the worker's
  transitions) minus the moment `job_create` returned;
- bare Procrastinate: the queue row's `started` / `succeeded` events minus the
  moment `defer` returned.

With LISTEN/NOTIFY (the default) and polling only (`listen_notify=False`, the
project's WORKER_POLL_SECONDS interval).
"""

from __future__ import annotations

import time
from typing import Any

from bench.common import History, Sizes, log, percentile, reset_queue, sql, summary
from bench.throughput import Workers, bench_org

MODES = [
    # (label, variant, listen)
    ("notify_bare", "bare_sync", True),
    ("notify_platform", "platform", True),
    ("poll_bare", "bare_sync", False),
    ("poll_platform", "platform", False),
]


def _create_paced(variant: str, seconds: float, rate: float) -> list[tuple[Any, float]]:
    from procrastinate.contrib.django import app

    from bench.tasks import BARE_SYNC
    from jobs.lifecycle import job_create, job_validate_input

    org = bench_org()
    job_input = job_validate_input(job_type="diagnostic", input={"steps": 0})
    task = app.tasks[BARE_SYNC]
    created: list[tuple[Any, float]] = []
    start = time.monotonic()
    count = int(seconds * rate)
    for i in range(count):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if variant == "platform":
            job = job_create(job_type="diagnostic", input=job_input, organization=org,
                             source="internal", enforce_limits=False)
            created.append((job.id, time.time()))
        else:
            created.append((task.defer(), time.time()))
    return created


def _wait_done(variant: str, n: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if variant == "platform":
            done = sql("SELECT count(*) FROM jobs_job WHERE type = 'diagnostic'"
                       " AND created_at > %s AND status = 'completed'", [History.since])[0][0]
        else:
            done = sql("SELECT count(*) FROM procrastinate_jobs WHERE id > %s"
                       " AND status = 'succeeded'", [History.queue_max])[0][0]
        if done >= n:
            return
        time.sleep(0.1)
    raise RuntimeError(f"{variant}: jobs not done within {timeout} s")


def _latencies(variant: str, created: list[tuple[Any, float]]) -> dict[str, list[float]]:
    committed = {str(k): t for k, t in created}
    if variant == "platform":
        rows = sql(
            "SELECT j.id::text, extract(epoch FROM j.started_at),"
            " extract(epoch FROM j.completed_at),"
            " (SELECT extract(epoch FROM min(e.at)) FROM procrastinate_events e"
            "  WHERE e.job_id = j.procrastinate_job_id AND e.type = 'started')"
            " FROM jobs_job j WHERE j.type = 'diagnostic' AND j.created_at > %s",
            [History.since],
        )
    else:
        rows = sql(
            "SELECT job_id::text,"
            " extract(epoch FROM min(at) FILTER (WHERE type = 'started')),"
            " extract(epoch FROM min(at) FILTER (WHERE type = 'succeeded')), NULL"
            " FROM procrastinate_events WHERE job_id > %s GROUP BY job_id",
            [History.queue_max],
        )
    out: dict[str, list[float]] = {"running": [], "completed": [], "queue_claimed": []}
    for key, started, completed, claimed in rows:
        t = committed.get(key)
        if t is None:
            continue
        out["running"].append((float(started) - t) * 1000)
        out["completed"].append((float(completed) - t) * 1000)
        if claimed is not None:
            out["queue_claimed"].append((float(claimed) - t) * 1000)
    return out


def _pcts(values: list[float]) -> dict[str, float]:
    return {f"p{p}": round(percentile(values, p), 2) for p in (50, 95, 99)}


def measure(variant: str, listen: bool, seconds: float, rate: float) -> dict[str, Any]:
    reset_queue()
    workers = Workers(1, 1, exit_when_empty=False, listen=listen)
    try:
        workers.release()
        workers.wait_registered()
        time.sleep(1.0)  # the listener is up and the worker idle
        created = _create_paced(variant, seconds, rate)
        _wait_done(variant, len(created), timeout=60)
    finally:
        workers.stop()
    lat = _latencies(variant, created)
    return {k: _pcts(v) for k, v in lat.items() if v} | {"jobs": len(created)}


def run(sz: Sizes, modes: list[tuple[str, str, bool]] | None = None) -> dict[str, Any]:
    modes = modes or MODES
    raw: dict[str, list[dict[str, Any]]] = {label: [] for label, _, _ in modes}
    for rep in range(sz.reps):
        for label, variant, listen in modes:
            r = measure(variant, listen, sz.latency_seconds, sz.latency_rate)
            raw[label].append(r)
            log(f"latency rep {rep + 1} {label}: running {r['running']}")
    out: dict[str, Any] = {"seconds": sz.latency_seconds, "rate": sz.latency_rate, "modes": {}}
    for label, _, _ in modes:
        entry: dict[str, Any] = {}
        for stage in ("running", "completed", "queue_claimed"):
            if all(stage in r for r in raw[label]):
                entry[stage] = {
                    p: summary([r[stage][p] for r in raw[label]], 2) for p in ("p50", "p95", "p99")
                }
        out["modes"][label] = entry
    return out
