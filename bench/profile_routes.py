"""Each API route's own cost, without the server: wall and CPU time a request in
one process through Django's test client (the same middleware, DRF and data as
the `routes` scenario), and with PROFILE=1 a cProfile of each route.

    .venv/bin/python scripts/devdb.py exec -- .venv/bin/python bench/profile_routes.py
    PROFILE=1 N=300 ... bench/profile_routes.py /api/jobs?limit=20

It works in the bench database (BENCH_DATABASE_NAME, default plinth_bench),
made anew with the `routes` scenario's data; the dev database is untouched.
The ceiling a route could reach on this machine if the server cost nothing is
cores / wall time (bench/ANALYSIS.md, routes).
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)


def main() -> None:
    from bench import common

    common.prepare_env()
    common.recreate_database(common.BENCH_DB)
    common.migrate()
    common.setup_django()
    from django.test import Client

    from bench.routes import _demo, read_routes
    from jobs.models import Job

    org, _, token = _demo()
    poll = Job.objects.filter(organization=org).first()
    assert poll is not None
    paths = sys.argv[1:] or [
        "/api/health", f"/api/jobs/{poll.id}", *(path for _, path in read_routes(org))]
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    n = int(os.environ.get("N", "300"))
    cores = os.cpu_count() or 1
    try:
        for path in paths:
            for _ in range(30):
                response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(n):
                client.get(path)
            wall_ms = (time.perf_counter() - wall) / n * 1000
            cpu_ms = (time.process_time() - cpu) / n * 1000
            print(f"{path}: {wall_ms:.2f} ms a request ({cpu_ms:.2f} ms CPU); "
                  f"ceiling on {cores} cores {cores * 1000 / wall_ms:,.0f} req/s",
                  flush=True)
            if os.environ.get("PROFILE"):
                profile = cProfile.Profile()
                profile.enable()
                for _ in range(n):
                    client.get(path)
                profile.disable()
                text = io.StringIO()
                pstats.Stats(profile, stream=text).sort_stats("cumulative").print_stats(40)
                print(text.getvalue())
    finally:
        from django.db import connections

        connections.close_all()
        common.drop_database(common.BENCH_DB)


if __name__ == "__main__":
    main()
