"""2. Throughput: N pre-queued no-op jobs through real worker processes.

(a) bare Procrastinate: a no-op task (`bench.noop`, sync like the platform's
    `jobs.run`; `bench.anoop`, async, as a reference) deferred with `batch_defer`;
(b) the platform: `diagnostic` jobs with steps=0 created with
    `jobs.lifecycle.job_create(..., enforce_limits=False)` and run through the
    full wrapper (`jobs.run`: start, handler, complete).

Jobs per second are counted by Postgres itself: from the first `started` to
the last `succeeded` event in `procrastinate_events`, so process start-up is
not counted and both sides are measured the same way.
"""

from __future__ import annotations

import os
import subprocess
import time
from typing import Any

from bench.common import (
    BENCH_DIR,
    PY,
    ROOT,
    History,
    Sizes,
    child_env,
    log,
    postgres_cpu_seconds,
    reset_queue,
    sql,
    summary,
)

# (label, processes, concurrency per process)
CONFIGS = [("c1", 1, 1), ("c4", 1, 4), ("c10", 1, 10), ("2x10", 2, 10)]
VARIANTS = ("bare_async", "bare_sync", "platform")


def configs() -> list[tuple[str, int, int]]:
    raw = os.environ.get("BENCH_CONFIGS", "")
    chosen = [c.strip() for c in raw.split(",") if c.strip()]
    return [c for c in CONFIGS if not chosen or c[0] in chosen]


# bare_async (Procrastinate's async no-op) is a reference, not a target's
# figure: BENCH_VARIANTS=bare_async,bare_sync,platform adds it (a third longer).
DEFAULT_VARIANTS = ("bare_sync", "platform")


def variants() -> list[str]:
    raw = os.environ.get("BENCH_VARIANTS", "")
    chosen = [v.strip() for v in raw.split(",") if v.strip()] or list(DEFAULT_VARIANTS)
    unknown = set(chosen) - set(VARIANTS)
    if unknown:
        raise SystemExit(f"BENCH_VARIANTS: unknown {sorted(unknown)}")
    return chosen


class Workers:
    """Worker processes started, set up (Django, pool), then released at once."""

    def __init__(self, processes: int, concurrency: int, *, exit_when_empty: bool,
                 listen: bool = True, poll_interval: float | None = None) -> None:
        args = [PY, str(BENCH_DIR / "worker.py"), "--concurrency", str(concurrency),
                "--gate"]
        if exit_when_empty:
            args.append("--exit-when-empty")
        if not listen:
            args.append("--no-listen")
        if poll_interval is not None:
            args += ["--poll-interval", str(poll_interval)]
        self.procs = [
            subprocess.Popen(args + ["--name", f"bench-{i}"], cwd=ROOT, env=child_env(),
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            for i in range(processes)
        ]

    def release(self) -> float:
        """Wait for every process to be ready, then let them all start."""
        for p in self.procs:
            assert p.stdout is not None
            line = p.stdout.readline()
            if line.strip() != "READY":
                raise RuntimeError(f"bench worker did not start: {line!r}")
        started = time.time()
        for p in self.procs:
            assert p.stdin is not None
            p.stdin.write("GO\n")
            p.stdin.flush()
        return started

    def wait_registered(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if sql("SELECT count(*) FROM procrastinate_workers")[0][0] >= len(self.procs):
                return
            time.sleep(0.05)
        raise RuntimeError("bench workers did not register")

    def wait(self, timeout: float) -> float:
        """Wait for the processes to exit; their CPU seconds (user + system)."""
        deadline = time.monotonic() + timeout
        cpu = 0.0
        for p in self.procs:
            while p.returncode is None and time.monotonic() < deadline:
                # wait4 (not Popen.poll) reaps the process and says what CPU it used.
                pid, status, usage = os.wait4(p.pid, os.WNOHANG)
                if pid:
                    p.returncode = os.waitstatus_to_exitcode(status)
                    cpu += usage.ru_utime + usage.ru_stime
                    break
                time.sleep(0.05)
            if p.returncode is None:
                raise RuntimeError("bench worker did not finish in time")
            if p.returncode:
                raise RuntimeError(f"bench worker exited {p.returncode}")
        return cpu

    def stop(self) -> None:
        from bench.common import stop_process

        for p in self.procs:
            stop_process(p)


def queue_bare(n: int, task_name: str) -> float:
    """batch_defer n no-op jobs, 1,000 per call; returns defers per second."""
    from procrastinate.contrib.django import app

    task = app.tasks[task_name]
    started = time.perf_counter()
    left = n
    while left:
        k = min(1000, left)
        task.batch_defer(*[{} for _ in range(k)])
        left -= k
    return n / (time.perf_counter() - started)


def bench_org() -> Any:
    from jobs.models import Organization

    org, _ = Organization.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    return org


def queue_platform(n: int, *, batch: int = 500) -> float:
    """job_create n diagnostic jobs (steps=0); returns creates per second.

    Created `batch` to a transaction, as a bulk import would: the rows and queue
    entries are what one-at-a-time creation writes.
    """
    from django.db import transaction

    from jobs.lifecycle import job_create, job_validate_input

    org = bench_org()
    job_input = job_validate_input(job_type="diagnostic", input={"steps": 0})
    started = time.perf_counter()
    left = n
    while left:
        k = min(batch, left)
        with transaction.atomic():
            for _ in range(k):
                job_create(job_type="diagnostic", input=job_input, organization=org,
                           source="internal", enforce_limits=False)
        left -= k
    return n / (time.perf_counter() - started)


def measured_rate(expected: int) -> dict[str, Any]:
    row = sql(
        "SELECT count(*) FILTER (WHERE type = 'succeeded'),"
        " count(*) FILTER (WHERE type = 'failed'),"
        " min(at) FILTER (WHERE type = 'started'),"
        " max(at) FILTER (WHERE type IN ('succeeded', 'failed'))"
        " FROM procrastinate_events WHERE job_id > %s",
        [History.queue_max],
    )[0]
    succeeded, failed, first, last = row
    if succeeded != expected:
        raise RuntimeError(f"expected {expected} succeeded jobs, got {succeeded} ({failed} failed)")
    seconds = (last - first).total_seconds()
    return {"jobs": succeeded, "seconds": round(seconds, 3), "rate": succeeded / seconds}


def run_one(variant: str, processes: int, concurrency: int, n: int) -> dict[str, Any]:
    """Queue n jobs of one variant, run them with fresh workers, measure."""
    reset_queue()
    workers = Workers(processes, concurrency, exit_when_empty=True)
    try:
        if variant == "platform":
            queue_rate = queue_platform(n)
        else:
            from bench.tasks import BARE_ASYNC, BARE_SYNC

            queue_rate = queue_bare(n, BARE_SYNC if variant == "bare_sync" else BARE_ASYNC)
        pg_cpu = postgres_cpu_seconds()
        workers.release()
        worker_cpu = workers.wait(timeout=max(600, n / 20))
        pg_cpu = postgres_cpu_seconds() - pg_cpu
    finally:
        workers.stop()
    result = measured_rate(n)
    # Worker CPU includes its start-up (Django set-up, about a second).
    result["worker_cpu_ms_per_job"] = 1000 * worker_cpu / n
    result["pg_cpu_ms_per_job"] = 1000 * pg_cpu / n
    if variant == "platform":
        done = sql("SELECT count(*) FROM jobs_job WHERE type = 'diagnostic'"
                   " AND created_at > %s AND status = 'completed'", [History.since])[0][0]
        if done != n:
            raise RuntimeError(f"expected {n} completed platform jobs, got {done}")
    result["queue_rate"] = queue_rate
    return result


def run(sz: Sizes, ceiling: float | None) -> dict[str, Any]:
    chosen = variants()
    raw: dict[str, dict[str, list[dict[str, Any]]]] = {
        label: {v: [] for v in chosen} for label, _, _ in configs()
    }
    for rep in range(sz.reps):
        for label, procs, conc in configs():
            # Side by side: each variant once per repetition, in turn.
            for variant in chosen:
                r = run_one(variant, procs, conc, sz.jobs)
                raw[label][variant].append(r)
                log(f"throughput rep {rep + 1} {label} {variant}: {r['rate']:.0f} jobs/s")
    out: dict[str, Any] = {"jobs": sz.jobs, "configs": {}}
    for label, procs, conc in configs():
        entry: dict[str, Any] = {"processes": procs, "concurrency": conc}
        for v in chosen:
            entry[v] = summary([r["rate"] for r in raw[label][v]], 0)
            for k in ("queue_rate", "worker_cpu_ms_per_job", "pg_cpu_ms_per_job"):
                entry[v][k] = summary([r[k] for r in raw[label][v]], 2 if "cpu" in k else 0)
        if "platform" in chosen:
            for base in ("bare_sync", "bare_async"):
                if base in chosen:
                    # Ratio per repetition (side by side), then its median.
                    ratios = [p["rate"] / b["rate"]
                              for p, b in zip(raw[label]["platform"], raw[label][base],
                                              strict=True)]
                    entry[f"ratio_vs_{base}"] = summary(ratios, 2)
        if ceiling:
            entry["fraction_of_ceiling"] = {
                v: round(entry[v]["median"] / ceiling, 3) for v in chosen
            }
        out["configs"][label] = entry
    return out
