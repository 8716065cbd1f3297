"""`llm`: LLM-bound jobs, each one chat completion of 2 s, through the real SDK.

A wire-level fake OpenAI (bench/llm_fake.py, its own process) answers every
chat completion after 2 s (streamed: 5 chunks over the same 2 s). One worker
process (bench/worker.py, what `manage.py procrastinate worker` runs) takes
the jobs, side by side in one run:

- `platform_async`, `platform_async_stream`: `diagnostic` jobs with
  `{"steps": 0, "llm_calls": 1, "runtime": "async"}` (`llm_stream` for the
  streamed one: partial output published as it is written): the platform's
  async path (jobs/aruntime.py, `llm.acomplete` with the limiter and the log);
- `bare_async`, `bare_async_stream`: a bare Procrastinate async task making
  the same call with the same SDK (AsyncOpenAI) and nothing around it;
- `platform_sync`: the same diagnostic job on the sync path (a thread per
  job, `llm.complete`), at `WORKER_CONCURRENCY` (20): it must run exactly that
  many at once. 2 s each, so it runs fewer jobs (BENCH_LLM_SYNC_JOBS).

Wall time is Postgres's: first `started` to last `succeeded` event in
`procrastinate_events`. A sampler reads, every 50 ms, the jobs running (the
platform's `running` rows; bare: `doing` queue rows) and the worker's database
connections (pg_stat_activity by the worker's application_name); the worker's
peak RSS is its VmHWM at the end.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from typing import Any

from bench.common import (
    BENCH_DIR,
    PY,
    ROOT,
    Sizes,
    child_env,
    log,
    reset_queue,
    sql,
    stop_process,
    summary,
)
from bench.throughput import bench_org, measured_rate

DELAY = 2.0
WORKER_APP = "bench-llm-worker"
VARIANTS = ("platform_async", "bare_async", "platform_async_stream", "bare_async_stream",
            "platform_sync")


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


class Fake:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [PY, str(BENCH_DIR / "llm_fake.py"), "--delay", str(DELAY), "--chunks", "5"],
            cwd=ROOT, env=child_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.url, self.key = self.proc.stdout.readline().split()

    def stop(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        stop_process(self.proc)


class Sampler(threading.Thread):
    """Peak running jobs and peak worker connections, every 50 ms."""

    def __init__(self, platform: bool) -> None:
        super().__init__(daemon=True)
        self.platform = platform
        self.peak_running = 0
        self.peak_connections = 0
        self.stop_event = threading.Event()

    def run(self) -> None:
        from django.db import connection

        running_sql = (
            "SELECT count(*) FROM jobs_job WHERE status = 'running'" if self.platform
            else "SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing'"
        )
        try:
            while not self.stop_event.is_set():
                running = sql(running_sql)[0][0]
                conns = sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                            [WORKER_APP])[0][0]
                self.peak_running = max(self.peak_running, running)
                self.peak_connections = max(self.peak_connections, conns)
                time.sleep(0.05)
        finally:
            connection.close()


def _cpu_s(pid: int) -> float:
    """A live process's CPU seconds (user + system) from /proc."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _vm_hwm_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def queue_jobs(variant: str, n: int) -> None:
    if variant.startswith("bare"):
        from procrastinate.contrib.django import app

        from bench.tasks import BARE_LLM

        stream = variant.endswith("stream")
        task = app.tasks[BARE_LLM]
        for start in range(0, n, 1000):
            task.batch_defer(*[{"index": i, "stream": stream}  # type: ignore[arg-type]
                               for i in range(start, min(n, start + 1000))])
        return
    from django.db import transaction

    from jobs.lifecycle import job_create, job_validate_input

    job_input = job_validate_input(job_type="diagnostic", input={
        "steps": 0, "llm_calls": 1, "llm_stream": variant.endswith("stream"),
        "runtime": "sync" if variant == "platform_sync" else "async",
    })
    org = bench_org()
    for start in range(0, n, 500):
        with transaction.atomic():
            for _ in range(min(500, n - start)):
                job_create(job_type="diagnostic", input=job_input, organization=org,
                           source="internal", enforce_limits=False)


def run_one(variant: str, n: int, concurrency: int, fake: Fake) -> dict[str, Any]:
    reset_queue()
    queue_jobs(variant, n)
    env = child_env(
        LLM_PROVIDER="openai", OPENAI_API_KEY=fake.key, OPENAI_BASE_URL=fake.url,
        LLM_REQUESTS_PER_SECOND="1000000", LLM_TIMEOUT_SECONDS="120", PGAPPNAME=WORKER_APP,
        WORKER_CONCURRENCY=str(concurrency),
    )
    proc = subprocess.Popen(
        [PY, str(BENCH_DIR / "worker.py"), "--concurrency", str(concurrency), "--gate",
         "--exit-when-empty", "--name", f"bench-llm-{variant}"],
        cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    sampler = Sampler(platform=variant.startswith("platform"))
    rss = 0
    worker_cpu = 0.0
    fake_cpu = _cpu_s(fake.proc.pid)
    try:
        assert proc.stdout is not None and proc.stdin is not None
        if proc.stdout.readline().strip() != "READY":
            raise RuntimeError("bench llm worker did not start")
        sampler.start()
        profiler = _profile(proc.pid, variant)
        proc.stdin.write("GO\n")
        proc.stdin.flush()
        deadline = time.monotonic() + max(300, 3 * n * DELAY / concurrency)
        while proc.returncode is None:
            rss = max(rss, _vm_hwm_kib(proc.pid))
            # wait4 (not Popen.poll) reaps the worker and says what CPU it used.
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                proc.returncode = os.waitstatus_to_exitcode(status)
                worker_cpu = usage.ru_utime + usage.ru_stime
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"llm {variant}: the worker did not finish in time")
            time.sleep(0.1)
        if proc.returncode:
            raise RuntimeError(f"llm {variant}: the worker exited {proc.returncode}")
    finally:
        sampler.stop_event.set()
        sampler.join(5)
        stop_process(proc)
        if profiler is not None:
            profiler.wait(30)
    fake_cpu = _cpu_s(fake.proc.pid) - fake_cpu
    result = measured_rate(n)
    if variant.startswith("platform"):
        done = sql("SELECT count(*) FROM jobs_job WHERE status = 'completed'")[0][0]
        if done != n:
            raise RuntimeError(f"llm {variant}: {done} of {n} jobs completed")
    result.update(peak_running=sampler.peak_running,
                  peak_connections=sampler.peak_connections,
                  worker_rss_mib=round(rss / 1024, 1), concurrency=concurrency,
                  # The profile of a miss: CPU per job of the worker (start-up
                  # included) and of the fake provider, against the wall time.
                  worker_cpu_ms_per_job=round(1000 * worker_cpu / n, 2),
                  fake_cpu_ms_per_job=round(1000 * fake_cpu / n, 2))
    return result


def _profile(pid: int, variant: str) -> subprocess.Popen[Any] | None:
    """BENCH_LLM_PROFILE=1: py-spy samples the worker (collapsed stacks, with idle
    frames) until it exits; `profile_summary` reads them."""
    if not os.environ.get("BENCH_LLM_PROFILE"):
        return None
    out = BENCH_DIR / "out"
    out.mkdir(exist_ok=True)
    return subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "py-spy"), "record", "--pid", str(pid), "--rate", "200",
         "--format", "raw", "--nonblocking", "-o", str(out / f"llm-profile-{variant}.txt")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def profile_summary(path: str, top: int = 25) -> list[tuple[str, float]]:
    """The functions a collapsed-stack profile spent most samples in (inclusive share)."""
    totals: dict[str, int] = {}
    samples = 0
    with open(path) as f:
        for line in f:
            stack, _, count = line.rstrip().rpartition(" ")
            n = int(count)
            samples += n
            for frame in set(stack.split(";")):
                name = frame.split(" (")[0] + " " + frame.rsplit("/", 1)[-1].split(":")[0]
                totals[name] = totals.get(name, 0) + n
    ranked = sorted(totals.items(), key=lambda kv: -kv[1])[:top]
    return [(name, round(count / samples, 3)) for name, count in ranked]


def variants() -> list[str]:
    raw = os.environ.get("BENCH_LLM_VARIANTS", "")
    chosen = [v.strip() for v in raw.split(",") if v.strip()]
    return [v for v in VARIANTS if not chosen or v in chosen]


def run(sz: Sizes) -> dict[str, Any]:
    n = _int("BENCH_LLM_JOBS", 1000)
    n_sync = _int("BENCH_LLM_SYNC_JOBS", 200)
    conc = _int("BENCH_LLM_CONCURRENCY", n)
    sync_conc = _int("BENCH_LLM_SYNC_CONCURRENCY", 20)
    reps = _int("BENCH_LLM_REPS", 1)
    raw: dict[str, list[dict[str, Any]]] = {v: [] for v in variants()}
    fake = Fake()
    try:
        for rep in range(reps):
            for variant in raw:
                sync = variant == "platform_sync"
                r = run_one(variant, n_sync if sync else n, sync_conc if sync else conc, fake)
                raw[variant].append(r)
                log(f"llm rep {rep + 1} {variant}: {r['jobs']} jobs in {r['seconds']:.2f} s "
                    f"({r['rate']:.0f}/s), peak running {r['peak_running']}, "
                    f"peak connections {r['peak_connections']}, RSS {r['worker_rss_mib']} MiB")
    finally:
        fake.stop()
    out: dict[str, Any] = {"delay_s": DELAY, "jobs": n, "sync_jobs": n_sync,
                           "concurrency": conc, "sync_concurrency": sync_conc, "variants": {}}
    for variant, rows in raw.items():
        out["variants"][variant] = {
            "jobs": rows[0]["jobs"],
            "concurrency": rows[0]["concurrency"],
            "wall_s": summary([r["seconds"] for r in rows], 2),
            "jobs_per_s": summary([r["rate"] for r in rows], 1),
            "peak_running": max(r["peak_running"] for r in rows),
            "peak_connections": max(r["peak_connections"] for r in rows),
            "worker_rss_mib": max(r["worker_rss_mib"] for r in rows),
            "worker_cpu_ms_per_job": summary([r["worker_cpu_ms_per_job"] for r in rows], 2),
            "fake_cpu_ms_per_job": summary([r["fake_cpu_ms_per_job"] for r in rows], 2),
        }
    v = out["variants"]
    for plat, bare in (("platform_async", "bare_async"),
                       ("platform_async_stream", "bare_async_stream")):
        if plat not in raw or bare not in raw:
            continue
        ratios = [p["rate"] / b["rate"] for p, b in zip(raw[plat], raw[bare], strict=True)]
        v[plat]["ratio_vs_bare"] = summary(ratios, 2)
    out["targets"] = targets(out)
    out["load_during"] = _loadavg()
    return out


def _loadavg() -> str:
    try:
        with open("/proc/loadavg") as f:
            return f.read().strip()
    except OSError:
        return ""


def targets(out: dict[str, Any]) -> list[dict[str, Any]]:
    v = out["variants"]
    ideal = out["delay_s"]
    rows: list[dict[str, Any]] = []
    if set(v) != set(VARIANTS):
        return rows  # a partial run (BENCH_LLM_VARIANTS) judges nothing
    for plat in ("platform_async", "platform_async_stream"):
        wall = v[plat]["wall_s"]["median"]
        ratio = v[plat]["ratio_vs_bare"]["median"]
        conns = v[plat]["peak_connections"]
        label = "streamed" if plat.endswith("stream") else "plain"
        rows += [
            {"name": f"llm async ({label}): {v[plat]['jobs']} jobs within 2.5x the ideal "
                     f"{ideal:g} s", "figure": wall, "target": f"<= {2.5 * ideal:g} s",
             "met": wall is not None and wall <= 2.5 * ideal},
            {"name": f"llm async ({label}): rate vs bare Procrastinate", "figure": ratio,
             "target": ">= 0.8", "met": ratio is not None and ratio >= 0.8},
            {"name": f"llm async ({label}): worker database connections", "figure": conns,
             "target": "<= 10", "met": conns <= 10},
        ]
    sync = v["platform_sync"]
    rows.append({"name": "llm sync: jobs running at once = WORKER_CONCURRENCY",
                 "figure": sync["peak_running"], "target": f"= {sync['concurrency']}",
                 "met": sync["peak_running"] == sync["concurrency"]})
    return rows
