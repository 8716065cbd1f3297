"""6. Scale: the same figures with a million finished jobs (and their queue rows
and events) in the tables, side by side with the empty tables:

- pickup latency (platform, LISTEN/NOTIFY), claim rate (throughput at
  concurrency 4, bare and platform), `GET /api/jobs/{id}` latency;
- the admission check's plan (`EXPLAIN (ANALYZE, BUFFERS)` of jobs/limits.py's query);
- worker throughput while `jobs.maintenance.prune_old_jobs()` deletes the million.

The history is written with `generate_series` in a few statements: jobs
completed 31 to 43 days ago (past the 30-day retention, so prune takes them).
"""

from __future__ import annotations

import subprocess
import time
from typing import Any

from bench import latency, throughput
from bench import web as http
from bench.common import (
    BENCH_DB,
    PY,
    ROOT,
    History,
    Sizes,
    child_env,
    log,
    pg_connect,
    reset_queue,
    sql,
    summary,
)
from bench.polling import api_user, finished_job, get_figures

CONC = 4


_history_conn: Any = None


def _timed_sql(query: str, params: list[Any] | None = None) -> None:
    """On a connection of its own, with triggers (the queue's notify and event
    triggers, foreign-key checks) off: the rows are consistent by construction,
    and a million FK checks against a plan cached while the table was empty
    would scan it a million times."""
    t = time.monotonic()
    _history_conn.execute(query, params)
    log(f"scale: {time.monotonic() - t:6.1f} s  {query[:60]}")


def insert_history(rows: int, organization_id: Any, user_id: int) -> float:
    started = time.monotonic()
    global _history_conn
    reset_queue()
    log(f"scale: queue reset in {time.monotonic() - started:.1f} s")
    _history_conn = pg_connect(BENCH_DB)
    _history_conn.execute("SET session_replication_role = replica")
    _timed_sql(
        "INSERT INTO procrastinate_jobs (id, queue_name, task_name, args, status, attempts)"
        " SELECT g, 'default', 'jobs.run',"
        "  jsonb_build_object('job_id', md5(g::text)::uuid::text), 'succeeded', 1"
        " FROM generate_series(1, %s) g",
        [rows],
    )
    _timed_sql("SELECT setval('procrastinate_jobs_id_seq', %s)", [rows])
    _timed_sql(
        "INSERT INTO procrastinate_events (job_id, type, at)"
        " SELECT g, t, now() - interval '31 days' - g * interval '1 second'"
        " FROM generate_series(1, %s) g,"
        " unnest('{deferred,started,succeeded}'::procrastinate_job_event_type[]) t",
        [rows],
    )
    _timed_sql(
        "INSERT INTO jobs_job (id, type, status, progress, status_message, input, output,"
        " error, error_kind, attempts, max_attempts, organization_id, user_id, decision_id,"
        " scope, source, cancel_requested_at, procrastinate_job_id, created_at, available_at,"
        " started_at, completed_at, updated_at)"
        " SELECT md5(g::text)::uuid, 'diagnostic', 'completed', 100, 'Completed',"
        "  '{\"steps\": 0}', '{\"steps\": 0, \"attempt\": 1}', '', '', 1, 4, %s, %s, NULL,"
        "  '', 'internal', NULL, g, ts, ts, ts, ts + interval '1 second',"
        "  ts + interval '1 second'"
        " FROM generate_series(1, %s) g,"
        " LATERAL (SELECT now() - interval '31 days' - g * interval '1 second' AS ts) t",
        [str(organization_id), user_id, rows],
    )
    _timed_sql(
        "INSERT INTO jobs_jobevent (job_id, kind, from_status, to_status, progress, message,"
        " data, actor, created_at)"
        " SELECT md5(g::text)::uuid, k.kind, k.from_s, k.to_s, k.progress, '', '{}', 'worker',"
        "  now() - interval '31 days' - g * interval '1 second'"
        " FROM generate_series(1, %s) g,"
        " (VALUES ('created', '', 'pending', 0), ('started', 'pending', 'running', 0),"
        "         ('completed', 'running', 'completed', 100)) AS k(kind, from_s, to_s, progress)",
        [rows],
    )
    for table in ("procrastinate_jobs", "procrastinate_events", "jobs_job", "jobs_jobevent"):
        _timed_sql(f"VACUUM ANALYZE {table}")
    _history_conn.close()
    History.queue_max = rows
    History.since = sql("SELECT now()")[0][0]
    return time.monotonic() - started


def admission_plan(organization_id: Any, user_id: int) -> dict[str, Any]:
    """The plan of jobs/limits.py's count, as it runs (inside a transaction)."""
    from jobs import limits

    query = limits.ACTIVE_COUNT_SQL if hasattr(limits, "ACTIVE_COUNT_SQL") else None
    if query is None:
        query = (
            "SELECT count(*), count(*) FILTER (WHERE user_id = %s),"
            " count(*) FILTER (WHERE decision_id = %s)"
            " FROM jobs_job WHERE organization_id = %s AND status IN ('pending', 'running')"
        )
    rows = sql("EXPLAIN (ANALYZE, BUFFERS) " + query, [user_id, None, str(organization_id)])
    plan = "\n".join(r[0] for r in rows)
    return {"sql": query, "plan": plan, "index_only": "Index Only Scan" in plan,
            "seq_scan": "Seq Scan" in plan}


def figures(sz: Sizes, label: str, job_id: Any, token: str,
            server: http.Server) -> dict[str, Any]:
    out: dict[str, Any] = {}
    lat = [latency.measure("platform", True, sz.latency_seconds, sz.latency_rate)
           for _ in range(sz.reps)]
    out["pickup_running"] = {p: summary([r["running"][p] for r in lat], 2)
                             for p in ("p50", "p95", "p99")}
    log(f"scale {label}: pickup {out['pickup_running']['p50']['median']} ms p50")
    claims: dict[str, list[float]] = {"bare_sync": [], "platform": []}
    for _ in range(sz.reps):
        for v in claims:
            claims[v].append(throughput.run_one(v, 1, CONC, sz.scale_jobs)["rate"])
    out["claim_rate"] = {v: summary(rs, 0) for v, rs in claims.items()}
    log(f"scale {label}: claim rate {out['claim_rate']}")
    out["get"] = get_figures(server, job_id, token, sz, label=f"scale {label} GET")
    return out


def _old_jobs() -> int:
    return int(sql("SELECT count(*) FROM jobs_job WHERE completed_at < now() - interval '30 days'")
               [0][0])


def throughput_while_pruning(sz: Sizes) -> dict[str, Any]:
    """Platform throughput with and without `prune_old_jobs()` running, side by
    side: half-size runs just before the prune starts, then the same while it
    runs. The prune (paced: JOBS_PRUNE_BATCH_SIZE / JOBS_PRUNE_PAUSE_RATIO) is
    stopped once the runs are done; its rate is the rows it deleted meanwhile."""
    half = max(1, sz.scale_jobs // 2)
    before = []
    for _ in range(sz.reps):
        before.append(throughput.run_one("platform", 1, CONC, half)["rate"])
        log(f"scale: throughput before the prune {before[-1]:.0f} jobs/s")
    rows_before = _old_jobs()
    prune = subprocess.Popen(
        [PY, "-c", "import django, time; django.setup(); from jobs.maintenance import"
         " prune_old_jobs; t = time.monotonic(); n = prune_old_jobs();"
         " print(n, time.monotonic() - t, flush=True)"],
        cwd=ROOT, env=child_env(PGAPPNAME=PRUNE_APP), stdout=subprocess.PIPE, text=True,
    )
    started = time.monotonic()
    time.sleep(2.0)  # Django set up, the first batch under way
    rates = []
    try:
        for _ in range(sz.reps):
            if prune.poll() is not None:
                break
            # Half-size runs, so that several fit in the prune.
            rates.append(throughput.run_one("platform", 1, CONC, half)["rate"])
            log(f"scale: throughput while pruning {rates[-1]:.0f} jobs/s")
        overlapped = prune.poll() is None
        finished = not overlapped
        if overlapped:
            # What it deleted in the time it ran (stopping it loses one batch).
            prune.terminate()
            prune.wait(timeout=60)
    finally:
        if prune.poll() is None:
            prune.kill()
        _end_prune_backend()
    seconds = time.monotonic() - started
    pruned = rows_before - _old_jobs()
    fractions = [d / b for d, b in zip(rates, before, strict=False)]
    return {"rates": summary(rates, 0), "rates_before": summary(before, 0),
            "fractions": summary(fractions, 2) if fractions else None,
            "all_during_prune": overlapped, "prune_finished": finished,
            "pruned_rows": pruned, "prune_seconds": round(seconds, 1),
            "prune_rows_per_s": round(pruned / seconds) if seconds else None,
            "batch_size": _setting("PRUNE_BATCH_SIZE"),
            "pause_ratio": _setting("PRUNE_PAUSE_RATIO")}


PRUNE_APP = "plinth-bench-prune"


def _end_prune_backend() -> None:
    """A stopped client leaves its server backend deleting until it notices: end it,
    or the next TRUNCATE of the same tables deadlocks with its last batch."""
    deadline = time.monotonic() + 30
    while sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
              [PRUNE_APP])[0][0]:
        sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = %s", [PRUNE_APP])
        if time.monotonic() > deadline:
            raise RuntimeError("the prune's backend did not end")
        time.sleep(0.2)


def _setting(name: str) -> Any:
    from django.conf import settings

    return settings.JOBS.get(name)


def run(sz: Sizes, earlier: dict[str, Any]) -> dict[str, Any]:
    from bench.throughput import bench_org

    user, token = api_user()
    org = bench_org()
    History.queue_max, History.since = 0, "epoch"
    reset_queue()
    job = finished_job(user)
    History.since = sql("SELECT now()")[0][0]  # keep the polled job
    out: dict[str, Any] = {"rows": sz.scale_rows, "jobs_per_claim_figure": sz.scale_jobs,
                           "concurrency": CONC}
    with http.Server() as server:
        out["empty"] = figures(sz, "empty", job.id, token, server)
        out["empty"]["admission_plan"] = admission_plan(org.pk, user.pk)
        seconds = insert_history(sz.scale_rows, org.pk, user.pk)
        out["insert_seconds"] = round(seconds, 1)
        log(f"scale: {sz.scale_rows} finished jobs written in {seconds:.0f} s")
        out["full"] = figures(sz, "full", job.id, token, server)
        out["full"]["admission_plan"] = admission_plan(org.pk, user.pk)
    out["ratios"] = _ratios(out)
    reset_queue()
    out["while_pruning"] = throughput_while_pruning(sz)
    # Side by side: the runs just before the prune against those during it.
    base = out["while_pruning"]["rates_before"]["median"]
    during = out["while_pruning"]["rates"]["median"]
    out["while_pruning"]["fraction_of_no_prune"] = (
        round(during / base, 2) if base and during else None)
    History.queue_max, History.since = 0, "epoch"
    reset_queue()
    return out


def _ratios(out: dict[str, Any]) -> dict[str, float]:
    """full / empty for each figure (latency: higher is worse; rates: lower is worse)."""
    e, f = out["empty"], out["full"]

    def r(a: float, b: float) -> float:
        return round(a / b, 2) if b else float("nan")

    return {
        "pickup_p50": r(f["pickup_running"]["p50"]["median"], e["pickup_running"]["p50"]["median"]),
        "pickup_p99": r(f["pickup_running"]["p99"]["median"], e["pickup_running"]["p99"]["median"]),
        "claim_rate_platform": r(e["claim_rate"]["platform"]["median"],
                                 f["claim_rate"]["platform"]["median"]),
        "claim_rate_bare": r(e["claim_rate"]["bare_sync"]["median"],
                             f["claim_rate"]["bare_sync"]["median"]),
        "get_p50": r(f["get"]["plain"]["p50_ms"]["median"], e["get"]["plain"]["p50_ms"]["median"]),
        "get_p99": r(f["get"]["plain"]["p99_ms"]["median"], e["get"]["plain"]["p99_ms"]["median"]),
        "get_rps": r(e["get"]["plain"]["rps"]["median"], f["get"]["plain"]["rps"]["median"]),
    }
