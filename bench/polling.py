"""4. The polling API: `GET /api/jobs/{id}` under the production server
(uvicorn, DEBUG off, two worker processes) from 64 keep-alive connections:
requests/s and p50 / p99, plain (200 with the job) and with If-None-Match (304)."""

from __future__ import annotations

import threading
import time
from typing import Any

from bench import web as http
from bench.common import Sizes, log, summary


def api_user(username: str = "bench", organization: Any = None) -> tuple[Any, str]:
    """A user in the bench organization, and its API token."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from bench.throughput import bench_org
    from jobs.models import Membership

    org = organization or bench_org()
    user, _ = get_user_model().objects.get_or_create(username=username)
    Membership.objects.get_or_create(user=user, organization=org)
    token, _ = Token.objects.get_or_create(user=user)
    return user, token.key


def finished_job(user: Any) -> Any:
    """A completed diagnostic job, moved through the lifecycle like any other."""
    from bench.throughput import bench_org
    from jobs import lifecycle

    job = lifecycle.job_create(job_type="diagnostic", input={"steps": 1, "step_seconds": 0},
                               organization=bench_org(), user=user, enforce_limits=False)
    started = lifecycle.job_start(job.id)
    assert started is not None
    lifecycle.job_progress(job.id, attempt=started.attempts, progress=50, message="Half way")
    lifecycle.job_complete(job.id, attempt=started.attempts, output={"steps": 1, "ok": True})
    return job


class ConnectionSampler:
    """The most database connections the bench database had during a load."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psycopg

        from bench.common import BENCH_DB, db_params

        p = db_params()
        with psycopg.connect(host=p["host"] or None, port=p["port"], user=p["user"] or None,
                             dbname=BENCH_DB, autocommit=True) as conn:
            while not self._stop.is_set():
                row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname ="
                                   " current_database() AND pid <> pg_backend_pid()").fetchone()
                n = row[0] if row else 0
                self.peak = max(self.peak, n)
                time.sleep(0.5)

    def __enter__(self) -> ConnectionSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(5)


def measure_get(server: http.Server, job_id: Any, token: str, sz: Sizes,
                etag: str | None) -> dict[str, Any]:
    headers = {"Authorization": f"Token {token}"}
    if etag:
        headers["If-None-Match"] = etag
    with ConnectionSampler() as sampler:
        r = http.load(f"{server.base}/api/jobs/{job_id}", seconds=sz.http_seconds,
                      connections=sz.http_connections, headers=headers)
    r["db_connections_peak"] = sampler.peak
    return r


def get_figures(server: http.Server, job_id: Any, token: str, sz: Sizes,
                label: str = "polling") -> dict[str, Any]:
    status, headers, body = http.get(f"{server.base}/api/jobs/{job_id}",
                                     {"Authorization": f"Token {token}"})
    if status != 200:
        raise RuntimeError(f"GET /api/jobs/{job_id} answered {status}: {body[:200]!r}")
    etag = headers.get("ETag") or headers.get("etag")
    status304, _, _ = http.get(f"{server.base}/api/jobs/{job_id}",
                               {"Authorization": f"Token {token}", "If-None-Match": etag or ""})
    if status304 != 304:
        raise RuntimeError(f"If-None-Match answered {status304}, not 304")
    raw: dict[str, list[dict[str, Any]]] = {"plain": [], "not_modified": []}
    for rep in range(sz.reps):
        for mode, tag in (("plain", None), ("not_modified", etag)):
            r = measure_get(server, job_id, token, sz, tag)
            raw[mode].append(r)
            log(f"{label} rep {rep + 1} {mode}: {r['rps']:.0f} req/s p50 {r['p50_ms']:.1f} ms"
                f" p99 {r['p99_ms']:.1f} ms (non-2xx/3xx {r['non_2xx_3xx']},"
                f" db connections {r['db_connections_peak']})")
    return {
        mode: {
            "rps": summary([r["rps"] for r in rs], 0),
            "p50_ms": summary([r["p50_ms"] for r in rs], 2),
            "p99_ms": summary([r["p99_ms"] for r in rs], 2),
            "non_2xx_3xx": [r["non_2xx_3xx"] for r in rs],
            "socket_errors": [r["socket_errors"] for r in rs],
            "db_connections_peak": max(r["db_connections_peak"] for r in rs),
            "client": rs[0]["client"],
        }
        for mode, rs in raw.items()
    }


def run(sz: Sizes) -> dict[str, Any]:
    user, token = api_user()
    job = finished_job(user)
    with http.Server() as server:
        out = get_figures(server, job.id, token, sz)
    out["server"] = http.server_description()
    out["connections"] = sz.http_connections
    out["seconds"] = sz.http_seconds
    return out
