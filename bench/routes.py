"""8. Routes: every read route of the API and the creating routes under the
production server (`manage.py serve`'s set-up: bench/web.py), one after the other
in one run, side by side with the poll route (`GET /api/jobs/{id}`, its async fast
path) and with `GET /api/health` (a plain Django view returning a constant: the
server's own ceiling). For each: req/s, p50, p99, non-2xx and the SQL queries one
request makes (counted in this process with Django's test client and
CaptureQueriesContext on the same data).

Targets, as ratios of the poll route's rate in this run: every read route >= 0.5,
accepted creates >= 0.25; read p99 < 100 ms.
"""

from __future__ import annotations

from typing import Any

from bench import web as http
from bench.common import Sizes, log, reset_queue
from bench.polling import ConnectionSampler
from bench.routedata import populate

READ_RATIO = 0.5
CREATE_RATIO = 0.25
READ_P99_MS = 100.0
FINISHED_JOBS = 30  # the demo organization's job list: more than a page of 20
ROWS = 5  # bench.routedata.populate: 5 of each kind, 5 children under each parent
SETUP_WORKERS = (1, 2, 4)  # uvicorn processes compared for the server set-up

POST_LUA = """
tokens = {%s}
counter = 0
wrk.method = "POST"
wrk.body = '%s'
request = function()
  counter = counter + 1
  local token = tokens[(counter %% #tokens) + 1]
  return wrk.format(nil, nil, {["Authorization"] = "Token " .. token,
                                ["Content-Type"] = "application/json"})
end
"""


def _demo() -> tuple[Any, Any, str]:
    """`manage.py demo_setup`'s organization, staff user (ops summary is staff
    only) and token, with its demo data in every app, and finished jobs."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    from jobs import lifecycle
    from jobs.models import Organization

    call_command("demo_setup", stdout=open("/dev/null", "w"))  # noqa: SIM115
    org = Organization.objects.get(slug="demo")
    user = get_user_model().objects.get(username="demo")
    for i in range(FINISHED_JOBS):
        job = lifecycle.job_create(job_type="diagnostic", input={"steps": 1, "step_seconds": 0},
                                   organization=org, user=user, enforce_limits=False)
        started = lifecycle.job_start(job.id)
        assert started is not None
        lifecycle.job_complete(job.id, attempt=started.attempts, output={"steps": 1, "i": i})
    populate(org, user, ROWS, tag="bench-")  # rows behind every route (the demo has few)
    return org, user, Token.objects.get(user=user).key


def read_routes(org: Any) -> list[tuple[str, str]]:
    from roadmap.models import Project

    project = Project.objects.filter(organization=org).order_by("created_at").first()
    assert project is not None  # populate() made some
    return [
        ("jobs list", "/api/jobs?limit=20"),
        ("job types", "/api/jobs/types"),
        ("decisions", "/api/decisions"),
        ("report-builder documents", "/api/report-builder/documents"),
        ("report-builder jobs", "/api/report-builder/jobs"),
        ("themes", "/api/themes"),
        ("roadmap projects", "/api/roadmap/projects"),
        ("roadmap suggestions", f"/api/roadmap/projects/{project.id}/suggestions"),
        ("comparisons", "/api/comparisons"),
        ("ops summary", "/api/ops/summary"),
    ]


def queries_per_request(path: str, token: str, *, method: str = "GET",
                        body: str | None = None) -> tuple[int, int]:
    """(status, SQL statements) of one request through Django and DRF, in this process."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    with CaptureQueriesContext(connection) as ctx:
        if method == "GET":
            response = client.get(path)
        else:
            response = client.post(path, data=body, content_type="application/json")
    return response.status_code, len(ctx.captured_queries)


def _get(server: http.Server, name: str, path: str, token: str | None,
         sz: Sizes) -> dict[str, Any]:
    headers = {"Authorization": f"Token {token}"} if token else {}
    status, _, body = http.get(server.base + path, headers)
    if status != 200:
        raise RuntimeError(f"GET {path} answered {status}: {body[:300]!r}")
    with ConnectionSampler() as sampler:
        r = http.load(server.base + path, seconds=sz.http_seconds,
                      connections=sz.http_connections, headers=headers)
    r["db_connections_peak"] = sampler.peak
    log(f"routes {name}: {r['rps']:.0f} req/s p50 {r['p50_ms']:.1f} ms p99 {r['p99_ms']:.1f} ms"
        f" (non-2xx/3xx {r['non_2xx_3xx']}, db connections {r['db_connections_peak']})")
    return r


def _brief(r: dict[str, Any]) -> dict[str, Any]:
    return {"rps": round(r["rps"]), "p50_ms": round(r["p50_ms"], 2),
            "p99_ms": round(r["p99_ms"], 2), "non_2xx_3xx": r["non_2xx_3xx"]}


def _post(server: http.Server, name: str, path: str, tokens: list[str], body: str,
          sz: Sizes) -> dict[str, Any]:
    lua = POST_LUA % (", ".join(f'"{t}"' for t in tokens), body)
    with ConnectionSampler() as sampler:
        r = http.load(server.base + path, seconds=sz.http_seconds,
                      connections=sz.http_connections, headers={}, lua=lua)
    r["db_connections_peak"] = sampler.peak
    log(f"routes {name}: {r['rps']:.0f} req/s p50 {r['p50_ms']:.1f} ms p99 {r['p99_ms']:.1f} ms"
        f" (non-2xx/3xx {r['non_2xx_3xx']} of {r['requests']})")
    return r


def run(sz: Sizes) -> dict[str, Any]:
    from django.conf import settings

    from bench.admission import ORGS, USERS
    from bench.common import create_users
    from bench.polling import finished_job

    reset_queue()
    org, user, token = _demo()
    poll_job = finished_job(user)
    from bench.throughput import bench_org
    from jobs.models import Membership

    Membership.objects.get_or_create(user=user, organization=bench_org())
    reads = read_routes(org)
    tokens = create_users(USERS, ORGS)  # the same crowd as the admission scenario
    create_body = '{"type": "diagnostic", "input": {"steps": 0}}'
    from reports.models import Document

    document = Document.objects.filter(organization=org).order_by("created_at").first()
    assert document is not None  # populate() made some
    report_body = '{"documentId": "' + str(document.id) + '", "type": "ANALYZE"}'

    # Queries per request, on the same data, before any load.
    queries: dict[str, Any] = {}
    for name, path in [("poll (DRF path)", f"/api/jobs/{poll_job.id}"), *reads,
                       ("constant", "/api/health")]:
        status, n = queries_per_request(path, token)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status} in the test client")
        queries[name] = n
    queries["poll"] = 1  # the async fast path: one prepared statement (jobs.api.poll.poll_sql)
    queries["poll (general path)"] = queries.pop("poll (DRF path)")

    figures: dict[str, dict[str, Any]] = {}
    # Fold the poll fast path back into the general path? Its rate there, with
    # the route off (WEB_POLL_ROUTE=false: DRF's view, its ETag and tenancy).
    with http.Server(WEB_POLL_ROUTE="false") as server:
        figures["poll (general path)"] = _get(server, "poll (general path)",
                                              f"/api/jobs/{poll_job.id}", token, sz)
    # The server set-up, chosen by measurement: processes per machine.
    setups: dict[str, Any] = {}
    for workers in SETUP_WORKERS:
        with http.Server(workers=workers) as server:
            setups[str(workers)] = {
                name: _brief(_get(server, f"{workers} workers {name}", path, token, sz))
                for name, path in (("jobs list", "/api/jobs?limit=20"),
                                   ("poll", f"/api/jobs/{poll_job.id}"))}
    high = "1000000000"
    with http.Server(JOBS_LIMIT_PER_ORG=high, JOBS_LIMIT_PER_USER=high,
                     JOBS_LIMIT_PER_DECISION=high) as server:
        figures["poll"] = _get(server, "poll", f"/api/jobs/{poll_job.id}", token, sz)
        figures["constant"] = _get(server, "constant", "/api/health", None, sz)
        for name, path in reads:
            figures[name] = _get(server, name, path, token, sz)
        figures["poll (again)"] = _get(server, "poll (again)", f"/api/jobs/{poll_job.id}",
                                       token, sz)
        reset_queue()
        figures["create job (accepted)"] = _post(server, "create job (accepted)", "/api/jobs",
                                                 tokens, create_body, sz)
        reset_queue()
        figures["create report job"] = _post(server, "create report job",
                                             "/api/report-builder/jobs", [token], report_body,
                                             sz)
        reset_queue()
    with http.Server() as server:  # the default limits: every user at its limit
        for t in tokens:
            for _ in range(3):
                status = _create(server, t, create_body)
                if status != 201:
                    break
        figures["create job (refused)"] = _post(server, "create job (refused)", "/api/jobs",
                                                tokens, create_body, sz)
    reset_queue()
    status, n = queries_per_request("/api/jobs", token, method="POST", body=create_body)
    queries["create job (accepted)"] = n if status == 201 else None
    reset_queue()
    status, n = queries_per_request("/api/report-builder/jobs", token, method="POST",
                                    body=report_body)
    queries["create report job"] = n if status == 201 else None
    reset_queue()

    poll_rps = min(figures["poll"]["rps"], figures["poll (again)"]["rps"])
    rows: dict[str, Any] = {}
    for name, r in figures.items():
        kind = ("read" if name in dict(reads) else
                "create" if name.startswith("create") else "reference")
        rows[name] = {
            "kind": kind,
            "rps": round(r["rps"]),
            "p50_ms": round(r["p50_ms"], 2),
            "p99_ms": round(r["p99_ms"], 2),
            "non_2xx_3xx": r["non_2xx_3xx"],
            "requests": r["requests"],
            "db_connections_peak": r["db_connections_peak"],
            "ratio_to_poll": round(r["rps"] / poll_rps, 3) if poll_rps else None,
            "queries": queries.get(name.replace(" (again)", "")),
        }
    read_rows = {k: v for k, v in rows.items() if v["kind"] == "read"}
    worst_read = min(read_rows.items(), key=lambda kv: kv[1]["ratio_to_poll"])
    worst_p99 = max(read_rows.items(), key=lambda kv: kv[1]["p99_ms"])
    accepted = rows["create job (accepted)"]
    targets = [
        {"name": f"routes: every read route >= {READ_RATIO} of the poll route's req/s",
         "figure": f"worst {worst_read[0]} {worst_read[1]['ratio_to_poll']}",
         "target": f">= {READ_RATIO}", "met": worst_read[1]["ratio_to_poll"] >= READ_RATIO},
        {"name": f"routes: accepted creates >= {CREATE_RATIO} of the poll route's req/s",
         "figure": f"POST /api/jobs {accepted['ratio_to_poll']}, POST /api/report-builder/jobs "
                   f"{rows['create report job']['ratio_to_poll']}",
         "target": f">= {CREATE_RATIO}",
         "met": min(accepted["ratio_to_poll"], rows["create report job"]["ratio_to_poll"])
         >= CREATE_RATIO},
        {"name": f"routes: read p99 < {READ_P99_MS:.0f} ms",
         "figure": f"worst {worst_p99[0]} {worst_p99[1]['p99_ms']} ms",
         "target": f"< {READ_P99_MS:.0f} ms", "met": worst_p99[1]["p99_ms"] < READ_P99_MS},
    ]
    return {
        "routes": rows,
        "setups": setups,
        "fold_poll_ratio": round(figures["poll (general path)"]["rps"] / poll_rps, 3),
        "poll_rps": round(poll_rps),
        "targets": targets,
        "server": http.server_description(),
        "connections": sz.http_connections,
        "seconds": sz.http_seconds,
        "users_for_creates": len(tokens),
        "debug": settings.DEBUG,
    }


def _create(server: http.Server, token: str, body: str) -> int:
    import urllib.error
    import urllib.request

    req = urllib.request.Request(
        f"{server.base}/api/jobs", method="POST", data=body.encode(),
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
