"""5. Streaming: N open event streams (`GET /api/jobs/{id}/events`, jobs/realtime.py)
on ONE uvicorn process, all following one running job; the driver reports
progress at a steady pace. Figures: time from each transition's commit to its
arrival at every stream (p50 / p99 over all stream x event pairs), database
connections the web process holds, and memory per stream (RSS growth / N).

The client (bench/sse_client.py) reads all N streams from one asyncio process
on the same 2 cores, so its own parsing is inside the figure.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

from bench import web as http
from bench.common import BENCH_DIR, PY, ROOT, Sizes, child_env, log, percentile, sql, summary
from bench.polling import api_user

EVENTS = 20
PACE_SECONDS = 0.25


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _web_connections() -> tuple[int, int]:
    rows = sql(
        "SELECT count(*), count(*) FILTER (WHERE application_name = 'plinth-realtime')"
        " FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    return int(rows[0][0]), int(rows[0][1])


def measure(server: http.Server, token: str, user: Any, streams: int) -> dict[str, Any]:
    from bench.throughput import bench_org
    from jobs import lifecycle

    job = lifecycle.job_create(job_type="diagnostic", input={"steps": EVENTS},
                               organization=bench_org(), user=user, enforce_limits=False)
    started = lifecycle.job_start(job.id)
    assert started is not None
    rss_before = _rss_kib(server.proc.pid)
    client = subprocess.Popen(
        [PY, str(BENCH_DIR / "sse_client.py"), f"{server.base}/api/jobs/{job.id}/events",
         token, str(streams)],
        cwd=ROOT, env=child_env(), stdout=subprocess.PIPE, text=True,
    )
    try:
        assert client.stdout is not None
        line = client.stdout.readline().strip()
        if line != "READY":
            raise RuntimeError(f"streams did not open: {line[:200]}")
        time.sleep(1.0)
        rss_open = _rss_kib(server.proc.pid)
        total_conns, listen_conns = _web_connections()
        committed: dict[int, float] = {}
        for i in range(1, EVENTS + 1):
            lifecycle.job_progress(job.id, attempt=started.attempts, progress=i,
                                   message=f"step {i}")
            committed[i] = time.time()
            time.sleep(PACE_SECONDS)
        lifecycle.job_complete(job.id, attempt=started.attempts, output={"events": EVENTS})
        out, _ = client.communicate(timeout=120)
    finally:
        if client.poll() is None:
            client.kill()
    arrivals = json.loads(out.strip().splitlines()[-1])
    latencies = [
        (t - committed[int(p)]) * 1000 for p, ts in arrivals.items() for t in ts
        if int(p) in committed
    ]
    expected = streams * EVENTS
    return {
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "max_ms": max(latencies) if latencies else None,
        "delivered": len(latencies),
        "expected": expected,
        "db_connections": total_conns,
        "listen_connections": listen_conns,
        "kib_per_stream": (rss_open - rss_before) / streams,
    }


def run(sz: Sizes) -> dict[str, Any]:
    if not (ROOT / "jobs" / "realtime.py").exists():
        return {"skipped": "jobs/realtime.py (the event stream) does not exist yet"}
    streams = sz.streams
    user, token = api_user()
    raw = []
    # One web process: the figure is what one process does with its one LISTEN
    # connection. Its pool may hold a few more for authentication and replays.
    with http.Server(workers=1) as server:
        for rep in range(sz.reps):
            r = measure(server, token, user, streams)
            raw.append(r)
            log(f"streaming rep {rep + 1}: {r['delivered']}/{r['expected']} delivered,"
                f" p50 {r['p50_ms']:.1f} ms p99 {r['p99_ms']:.1f} ms,"
                f" {r['db_connections']} db connections ({r['listen_connections']} LISTEN),"
                f" {r['kib_per_stream']:.1f} KiB/stream")
    return {
        "streams": streams,
        "events": EVENTS,
        "pace_s": PACE_SECONDS,
        "p50_ms": summary([r["p50_ms"] for r in raw], 1),
        "p99_ms": summary([r["p99_ms"] for r in raw], 1),
        "max_ms": summary([r["max_ms"] for r in raw], 1),
        "delivered": [f"{r['delivered']}/{r['expected']}" for r in raw],
        "db_connections": max(r["db_connections"] for r in raw),
        "listen_connections": max(r["listen_connections"] for r in raw),
        "kib_per_stream": summary([r["kib_per_stream"] for r in raw], 1),
    }
