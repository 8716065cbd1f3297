"""7. Admission: `POST /api/jobs` requests per second with the limits enforced
(the per-organization advisory lock and the active-job count run on every
request), under the production server.

- accepted: limits raised so every request passes the full check and creates
  a job (201); 64 users in 16 organizations, one token per request in turn;
- refused: the default limits, every user already at its limit (429).
"""

from __future__ import annotations

from typing import Any

from bench import web as http
from bench.common import Sizes, create_users, log, reset_queue, summary
from bench.polling import ConnectionSampler

USERS = 64
ORGS = 16

LUA = """
tokens = {%s}
counter = 0
wrk.method = "POST"
wrk.body = '{"type": "diagnostic", "input": {"steps": 0}}'
request = function()
  counter = counter + 1
  local token = tokens[(counter %% #tokens) + 1]
  return wrk.format(nil, nil, {["Authorization"] = "Token " .. token,
                                ["Content-Type"] = "application/json"})
end
"""


def _tokens() -> list[str]:
    return create_users(USERS, ORGS)


def _post(server: http.Server, tokens: list[str], sz: Sizes) -> dict[str, Any]:
    lua = LUA % ", ".join(f'"{t}"' for t in tokens)
    with ConnectionSampler() as sampler:
        r = http.load(f"{server.base}/api/jobs", seconds=sz.http_seconds,
                      connections=sz.http_connections, headers={}, lua=lua)
    r["db_connections_peak"] = sampler.peak
    return r


def _check_status(server: http.Server, token: str, expected: int) -> None:
    import json
    import urllib.error
    import urllib.request

    req = urllib.request.Request(
        f"{server.base}/api/jobs", method="POST",
        data=json.dumps({"type": "diagnostic", "input": {"steps": 0}}).encode(),
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            status = resp.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    if status != expected:
        raise RuntimeError(f"POST /api/jobs answered {status}, expected {expected}")


def run(sz: Sizes) -> dict[str, Any]:
    from django.db import connection

    reset_queue()
    tokens = _tokens()
    raw: dict[str, list[dict[str, Any]]] = {"accepted": [], "refused": []}
    high = "1000000000"
    with http.Server(JOBS_LIMIT_PER_ORG=high, JOBS_LIMIT_PER_USER=high,
                     JOBS_LIMIT_PER_DECISION=high) as server:
        for rep in range(sz.reps):
            reset_queue()
            _check_status(server, tokens[0], 201)
            r = _post(server, tokens, sz)
            r["created"] = _count_jobs(connection)
            raw["accepted"].append(r)
            log(f"admission rep {rep + 1} accepted: {r['rps']:.0f} req/s p50 {r['p50_ms']:.1f} ms"
                f" p99 {r['p99_ms']:.1f} ms (non-2xx {r['non_2xx_3xx']}, jobs {r['created']})")
    with http.Server() as server:
        for rep in range(sz.reps):
            reset_queue()
            for t in tokens:  # every user at its limit of 3 active jobs (org limit 5 too)
                for _ in range(3):
                    try:
                        _check_status(server, t, 201)
                    except RuntimeError:
                        break
            _check_status(server, tokens[0], 429)
            r = _post(server, tokens, sz)
            raw["refused"].append(r)
            log(f"admission rep {rep + 1} refused: {r['rps']:.0f} req/s p50 {r['p50_ms']:.1f} ms"
                f" p99 {r['p99_ms']:.1f} ms (non-2xx {r['non_2xx_3xx']} of {r['requests']})")
    reset_queue()
    return {
        mode: {
            "rps": summary([r["rps"] for r in rs], 0),
            "p50_ms": summary([r["p50_ms"] for r in rs], 2),
            "p99_ms": summary([r["p99_ms"] for r in rs], 2),
            "non_2xx_3xx": [r["non_2xx_3xx"] for r in rs],
            "requests": [r["requests"] for r in rs],
            "db_connections_peak": max(r["db_connections_peak"] for r in rs),
        }
        for mode, rs in raw.items()
    } | {"users": USERS, "organizations": ORGS, "seconds": sz.http_seconds,
         "connections": sz.http_connections}


def _count_jobs(connection: Any) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM jobs_job")
        return int(cursor.fetchone()[0])
