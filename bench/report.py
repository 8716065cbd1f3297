"""bench/RESULTS.md from the results: figures as `median (min–max)` over the
repetitions, the targets met or missed, and the analysis kept in
bench/ANALYSIS.md (written by people, from the profiles)."""

from __future__ import annotations

from typing import Any

from bench.common import BENCH_DIR, fmt

TARGETS = {
    "throughput_ratio": 0.7,
    "pickup_p50_ms": 10.0,
    "pickup_p99_ms": 50.0,
    "polling_rps": 1000.0,
    "polling_p99_ms": 100.0,
    "scale_factor": 1.5,
    "prune_fraction": 0.8,
}


def _ok(flag: bool | None) -> str:
    if flag is None:
        return "n/a"
    return "met" if flag else "**missed**"


def _med(s: dict[str, Any] | None) -> float | None:
    return None if not s else s.get("median")


def render(results: dict[str, Any]) -> str:
    sc = results.get("scenarios", {})
    sz = results.get("sizes", {})
    out: list[str] = []
    w = out.append
    w("# Plinth Jobs benchmarks\n")
    w(f"Recorded {results.get('started_at')} by `make bench` (`bench/run.py`), scale "
      f"`{sz.get('scale')}`, {sz.get('reps')} repetitions of every figure, in "
      f"{results.get('duration_s', '?')} s. Figures are **median (min–max)** over the "
      "repetitions. The machine is shared (other sessions run tests on the same 2 cores), "
      "so compare figures taken side by side in this run, above all the ratios.\n")
    w("## Machine and versions\n")
    m = results.get("machine", {})
    w(f"- {m.get('nproc')} CPUs: {m.get('cpu')}; memory {m.get('memory')}; "
      f"kernel {m.get('kernel')}")
    for k, v in results.get("versions", {}).items():
        w(f"- {k}: {v}")
    load = results.get("load", {})
    w(f"- load before: `{load.get('before')}`")
    w(f"- load after: `{load.get('after')}`")
    for name, s in sc.items():
        if isinstance(s, dict) and s.get("load_after"):
            w(f"- after {name} ({s.get('duration_s')} s): `{s['load_after']}`")
    w("")
    w("## Commands\n")
    w("```\nmake bench                                   # the recorded run (BENCH_SCALE=full)\n"
      "BENCH_SCALE=quick make bench                 # minutes; writes bench/out/ (BENCH_OUT)\n"
      "BENCH_ONLY=throughput,latency make bench     # some scenarios only\n"
      "BENCH_REPS=5 BENCH_JOBS=20000 make bench     # sizes: see bench/common.py\n```\n")
    w(f"Sizes of this run: `{sz}`\n")
    if results.get("errors"):
        w("## Errors\n")
        for k, v in results["errors"].items():
            w(f"- {k}: `{v}`")
        w("")
    w(_summary(results))
    w(_ceiling(sc.get("ceiling")))
    w(_throughput(sc.get("throughput")))
    w(_latency(sc.get("latency")))
    w(_polling(sc.get("polling")))
    w(_streaming(sc.get("streaming")))
    w(_admission(sc.get("admission")))
    w(_scale(sc.get("scale")))
    w(_routes(sc.get("routes")))
    analysis = BENCH_DIR / "ANALYSIS.md"
    if analysis.exists():
        w(analysis.read_text())
    return "\n".join(out) + "\n"


def _target(name: str, figure: str, target: str, met: bool | None) -> dict[str, Any]:
    return {"name": name, "figure": figure, "target": target, "met": met}


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Every target of the run as `{name, figure, target, met}` (met: None when
    the scenario was skipped): the ones computed here from the figures, then
    each scenario's own `targets` list (routes, and any scenario that carries
    one), so results.json's top-level `targets` holds them all."""
    sc = results.get("scenarios", {})
    out: list[dict[str, Any]] = []
    t = sc.get("throughput")
    if t and "configs" in t:
        ratios = {k: _med(v.get("ratio_vs_bare_sync")) for k, v in t["configs"].items()}
        vals = [v for v in ratios.values() if v is not None]
        shown = ", ".join(f"{k} {v}" for k, v in ratios.items())
        out.append(_target("throughput >= 0.7 of bare (sync task) at every concurrency", shown,
                           ">= 0.7", bool(vals) and min(vals) >= TARGETS["throughput_ratio"]))
    lat = sc.get("latency")
    if lat and "notify_platform" in lat.get("modes", {}):
        r = lat["modes"]["notify_platform"]["running"]
        p50, p99 = _med(r["p50"]), _med(r["p99"])
        out.append(_target("pickup to running p50 < 10 ms, p99 < 50 ms",
                           f"p50 {p50} ms, p99 {p99} ms", "p50 < 10 ms, p99 < 50 ms",
                           p50 is not None and p99 is not None
                           and p50 < TARGETS["pickup_p50_ms"] and p99 < TARGETS["pickup_p99_ms"]))
    p = sc.get("polling")
    if p and "plain" in p:
        for key, name in (("plain", "polling >= 1,000 req/s, p99 < 100 ms (plain 200)"),
                          ("not_modified", "the same with If-None-Match (304)")):
            rps, p99 = _med(p[key]["rps"]), _med(p[key]["p99_ms"])
            out.append(_target(name, f"{rps} req/s, p99 {p99} ms", ">= 1000 req/s, p99 < 100 ms",
                               rps is not None and p99 is not None
                               and rps >= TARGETS["polling_rps"]
                               and p99 < TARGETS["polling_p99_ms"]))
    s = sc.get("streaming")
    if s and s.get("skipped"):
        out.append(_target("streaming: 1,000 streams, p99 < 200 ms", str(s.get("skipped", "")),
                           "p99 < 200 ms", None))
    elif s and "p99_ms" in s:
        p99 = _med(s["p99_ms"])
        out.append(_target(f"streaming: {s['streams']:,} streams on {s['listen_connections']} "
                           "LISTEN connection, p99 < 200 ms", f"p99 {p99} ms",
                           "p99 < 200 ms, 1 LISTEN connection",
                           p99 is not None and p99 < 200 and s["listen_connections"] <= 1))
    scale = sc.get("scale")
    if scale and "ratios" in scale:
        worst = max(v for v in scale["ratios"].values() if v == v)
        out.append(_target("scale: each figure within 1.5x of empty",
                           f"worst {worst}x ({scale['ratios']})", "<= 1.5x",
                           worst <= TARGETS["scale_factor"]))
        frac = scale.get("while_pruning", {}).get("fraction_of_no_prune")
        out.append(_target("workers keep >= 0.8 of throughput while pruning", str(frac), ">= 0.8",
                           None if frac is None else frac >= TARGETS["prune_fraction"]))
    for name, scenario in sc.items():
        if isinstance(scenario, dict):
            for own in scenario.get("targets", []):
                out.append({**own, "scenario": name})
    return out


def _summary(results: dict[str, Any]) -> str:
    rows = ["## Targets\n",
            "Every target also in results.json's `targets` list; misses are explained in the "
            "analysis at the end.\n",
            "| target | figure | |", "| --- | --- | --- |"]
    for t in targets(results):
        rows.append(f"| {t['name']} | {t['figure']} | {_ok(t['met'])} |")
    return "\n".join(rows) + "\n"


def _routes(r: dict[str, Any] | None) -> str:
    if not r or "routes" not in r:
        return ""
    rows = ["## 8. Routes: every API route under the production server\n",
            f"`{r['server']}`; {r['connections']} keep-alive connections for {r['seconds']} s "
            "per route (wrk, one thread), one route after the other in one run, token auth "
            "as the demo user (staff: the ops summary is staff only) on `manage.py demo_setup`'s "
            "data, 30 finished jobs and `bench.routedata.populate`'s rows (5 of each kind, 5 "
            "children under each parent: the list routes answer 5-20 rows). `poll` is "
            "`GET /api/jobs/{id}` (measured first and again after the reads; ratios use the "
            "lower), `constant` is `GET /api/health` (a plain Django view: the server's "
            "ceiling). Creates rotate over "
            f"{r['users_for_creates']} users in 16 organizations with the limits raised; "
            "refused: default limits, every user at its limit (429 is the figure, so its "
            "non-2xx count is every request). Queries: SQL statements of one request through "
            "Django and DRF (the test client, CaptureQueriesContext, same data).\n",
            "| route | kind | req/s | / poll | p50 ms | p99 ms | non-2xx/3xx | queries | "
            "peak DB connections |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, e in r["routes"].items():
        rows.append(f"| {name} | {e['kind']} | {e['rps']:,} | {e['ratio_to_poll']} | "
                    f"{e['p50_ms']} | {e['p99_ms']} | {e['non_2xx_3xx']} | "
                    f"{'n/a' if e['queries'] is None else e['queries']} | "
                    f"{e['db_connections_peak']} |")
    if r.get("fold_poll_ratio") is not None:
        rows.append(f"\nThe poll route through the general path (`WEB_POLL_ROUTE=false`, its own "
                    f"server right after): **{r['fold_poll_ratio']}** of the fast path's rate "
                    "(folding it back needs >= 0.8).\n")
    if r.get("setups"):
        rows += ["Server set-up: uvicorn processes (`WEB_WORKERS`) on this machine, the same "
                 "two routes each:\n",
                 "| processes | jobs list req/s | p50 ms | p99 ms | poll req/s | p50 ms | p99 ms |",
                 "| --- | --- | --- | --- | --- | --- | --- |"]
        for workers, f in r["setups"].items():
            a, b = f["jobs list"], f["poll"]
            rows.append(f"| {workers} | {a['rps']:,} | {a['p50_ms']} | {a['p99_ms']} | "
                        f"{b['rps']:,} | {b['p50_ms']} | {b['p99_ms']} |")
    return "\n".join(rows) + "\n"


def _ceiling(c: dict[str, Any] | None) -> str:
    if not c or "lifecycle" not in c:
        return ""
    rows = ["## 1. The ceiling: pgbench\n",
            f"One minimal durable job lifecycle per pgbench transaction (three commits), "
            f"{c['seconds']} s per figure, `-M prepared`, scratch database created and dropped:\n",
            "```sql", c["script"].rstrip(), "```\n",
            "| clients | job lifecycles/s | plain single INSERT/s |", "| --- | --- | --- |"]
    for k in c["lifecycle"]:
        rows.append(f"| {k} | {fmt(c['lifecycle'][k])} | {fmt(c['single_insert'][k])} |")
    rows.append(f"\nThe ceiling used below: **{c['ceiling']:,.0f} lifecycles/s**.\n")
    return "\n".join(rows)


def _throughput(t: dict[str, Any] | None) -> str:
    if not t or "configs" not in t:
        return ""
    rows = [
        "## 2. Throughput: no-op jobs\n",
        f"{t['jobs']:,} jobs pre-queued, then real worker processes (`bench/worker.py`: "
        "`app.run_worker_async`, the project's worker settings) started at one moment; jobs/s "
        "from the first `started` to the last `succeeded` event in `procrastinate_events`. "
        "bare sync = `bench.noop`, a sync no-op task (a thread per job, like the platform's "
        "`jobs.run`); bare async = `bench.anoop`; platform = `diagnostic` jobs with steps=0 "
        "from `job_create(..., enforce_limits=False)` through the full wrapper. Ratios are "
        "taken per repetition (side by side), then their median.\n",
        "| worker | bare async jobs/s | bare sync jobs/s | platform jobs/s | platform / bare sync "
        "| platform / bare async | fraction of ceiling (async / sync / platform) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for e in t["configs"].values():
        name = f"{e['processes']} x concurrency {e['concurrency']}"
        frac = e.get("fraction_of_ceiling", {})
        rows.append(
            f"| {name} | {fmt(e.get('bare_async'))} | {fmt(e.get('bare_sync'))} | "
            f"{fmt(e.get('platform'))} | {fmt(e.get('ratio_vs_bare_sync'))} | "
            f"{fmt(e.get('ratio_vs_bare_async'))} | "
            f"{frac.get('bare_async', '')} / {frac.get('bare_sync', '')} / "
            f"{frac.get('platform', '')} |")
    rows += ["", "CPU per job (worker process, including its ~1 s start-up; all postgres "
             "processes, including other sessions' load):\n",
             "| worker | bare sync worker ms | bare sync postgres ms | platform worker ms | "
             "platform postgres ms | defer / create per s (bare sync, platform) |",
             "| --- | --- | --- | --- | --- | --- |"]
    for _label, e in t["configs"].items():
        b, p = e.get("bare_sync", {}), e.get("platform", {})
        rows.append(
            f"| {e['processes']} x {e['concurrency']} | {fmt(b.get('worker_cpu_ms_per_job'))} | "
            f"{fmt(b.get('pg_cpu_ms_per_job'))} | {fmt(p.get('worker_cpu_ms_per_job'))} | "
            f"{fmt(p.get('pg_cpu_ms_per_job'))} | {fmt(b.get('queue_rate'))}, "
            f"{fmt(p.get('queue_rate'))} |")
    return "\n".join(rows) + "\n"


def _latency(lat: dict[str, Any] | None) -> str:
    if not lat or "modes" not in lat:
        return ""
    rows = [
        "## 3. Pickup latency\n",
        f"One idle worker (concurrency 1); jobs created one at a time at {lat['rate']}/s for "
        f"{lat['seconds']} s. Milliseconds from the return of the creating call (its commit) "
        "to `running` (platform: `Job.started_at`, written by the worker's start transition; "
        "bare: the queue row's `started` event) and to `completed` / `succeeded`. "
        "`queue claimed` is the platform job's Procrastinate `started` event. Polling only: "
        "`listen_notify=False` with the project's WORKER_POLL_SECONDS (5 s).\n",
        "| mode | to running p50 | p95 | p99 | to completed p50 | p95 | p99 |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for mode, e in lat["modes"].items():
        r, c = e.get("running", {}), e.get("completed", {})
        rows.append(f"| {mode} | {fmt(r.get('p50'))} | {fmt(r.get('p95'))} | {fmt(r.get('p99'))} "
                    f"| {fmt(c.get('p50'))} | {fmt(c.get('p95'))} | {fmt(c.get('p99'))} |")
    return "\n".join(rows) + "\n"


def _http_rows(d: dict[str, Any], modes: list[tuple[str, str]]) -> list[str]:
    rows = ["| request | req/s | p50 ms | p99 ms | non-2xx/3xx | peak DB connections |",
            "| --- | --- | --- | --- | --- | --- |"]
    for key, name in modes:
        e = d.get(key)
        if not e:
            continue
        rows.append(f"| {name} | {fmt(e['rps'])} | {fmt(e['p50_ms'])} | {fmt(e['p99_ms'])} | "
                    f"{e.get('non_2xx_3xx')} | {e.get('db_connections_peak')} |")
    return rows


def _polling(p: dict[str, Any] | None) -> str:
    if not p or "plain" not in p:
        return ""
    rows = ["## 4. Polling API: GET /api/jobs/{id}\n",
            f"`{p['server']}`; {p['connections']} keep-alive connections for {p['seconds']} s "
            f"per figure ({p['plain'].get('client')}, one thread), token auth, a completed "
            "job.\n"]
    rows += _http_rows(p, [("plain", "200 with the job"), ("not_modified", "If-None-Match: 304")])
    return "\n".join(rows) + "\n"


def _streaming(s: dict[str, Any] | None) -> str:
    if not s:
        return ""
    if s.get("skipped"):
        return f"## 5. Streaming\n\nSkipped: {s.get('skipped')}.\n"
    return "\n".join([
        "## 5. Streaming: GET /api/jobs/{id}/events\n",
        f"{s['streams']:,} event streams open on ONE uvicorn process (`--workers 1`), all "
        f"following one running job; the driver reports progress {s['events']} times, "
        f"every {s['pace_s']} s. Milliseconds from the commit of each transition to its "
        "arrival at every stream (all stream x event pairs; the client reads every stream "
        "from one asyncio process on the same 2 cores, so its parsing is inside the "
        "figure).\n",
        "| figure | value |", "| --- | --- |",
        f"| delivery p50 ms | {fmt(s['p50_ms'])} |",
        f"| delivery p99 ms | {fmt(s['p99_ms'])} |",
        f"| delivery max ms | {fmt(s['max_ms'])} |",
        f"| events delivered | {', '.join(s['delivered'])} |",
        f"| database connections of the web process (LISTEN) | {s['db_connections']} "
        f"({s['listen_connections']}) |",
        f"| memory per open stream (RSS growth / streams) | {fmt(s['kib_per_stream'])} KiB |",
        "",
    ])


def _admission(a: dict[str, Any] | None) -> str:
    if not a or "accepted" not in a:
        return ""
    rows = ["## 7. Admission: POST /api/jobs\n",
            f"{a['connections']} connections for {a['seconds']} s; {a['users']} users in "
            f"{a['organizations']} organizations, one token per request in turn. Accepted: "
            "limits raised so every request runs the whole check (advisory lock, count) and "
            "creates a job (201). Refused: default limits, every user at its limit (429).\n"]
    rows += _http_rows(a, [("accepted", "accepted (201)"), ("refused", "refused (429)")])
    return "\n".join(rows) + "\n"


def _scale(s: dict[str, Any] | None) -> str:
    if not s or "empty" not in s:
        return ""
    e, f = s["empty"], s["full"]
    rows = [
        "## 6. Scale\n",
        f"{s['rows']:,} finished jobs (completed 31–43 days ago) with their queue rows, 3 "
        f"JobEvents and 3 queue events each, written with `generate_series` in "
        f"{s.get('insert_seconds')} s, then `VACUUM ANALYZE`. The same figures before "
        f"(empty) and after (full); claim rate at concurrency {s['concurrency']} with "
        f"{s['jobs_per_claim_figure']:,} jobs.\n",
        "| figure | empty | 1M finished jobs | ratio (worse / better) |",
        "| --- | --- | --- | --- |",
        f"| pickup to running p50 ms | {fmt(e['pickup_running']['p50'])} | "
        f"{fmt(f['pickup_running']['p50'])} | {s['ratios']['pickup_p50']} |",
        f"| pickup to running p99 ms | {fmt(e['pickup_running']['p99'])} | "
        f"{fmt(f['pickup_running']['p99'])} | {s['ratios']['pickup_p99']} |",
        f"| claim rate, platform jobs/s | {fmt(e['claim_rate']['platform'])} | "
        f"{fmt(f['claim_rate']['platform'])} | {s['ratios']['claim_rate_platform']} |",
        f"| claim rate, bare sync jobs/s | {fmt(e['claim_rate']['bare_sync'])} | "
        f"{fmt(f['claim_rate']['bare_sync'])} | {s['ratios']['claim_rate_bare']} |",
        f"| GET /api/jobs/{{id}} req/s | {fmt(e['get']['plain']['rps'])} | "
        f"{fmt(f['get']['plain']['rps'])} | {s['ratios']['get_rps']} |",
        f"| GET p50 ms | {fmt(e['get']['plain']['p50_ms'])} | {fmt(f['get']['plain']['p50_ms'])} "
        f"| {s['ratios']['get_p50']} |",
        f"| GET p99 ms | {fmt(e['get']['plain']['p99_ms'])} | {fmt(f['get']['plain']['p99_ms'])} "
        f"| {s['ratios']['get_p99']} |",
        "",
        f"Admission check plan with the million rows (index only: "
        f"{f['admission_plan']['index_only']}, seq scan: {f['admission_plan']['seq_scan']}):\n",
        "```sql", f["admission_plan"]["sql"], "```", "```", f["admission_plan"]["plan"], "```\n",
    ]
    wp = s.get("while_pruning", {})
    if wp:
        rows.append(
            "While `prune_old_jobs()`"
            + (f" (batches of {wp['batch_size']:,}, pause ratio {wp.get('pause_ratio')})"
               if wp.get("batch_size") else "")
            + f" deleted {wp.get('pruned_rows'):,} jobs (with their "
            f"events and queue rows) in {wp.get('prune_seconds')} s "
            f"({wp.get('prune_rows_per_s'):,} jobs/s), platform workers ran "
            f"{fmt(wp.get('rates'))} jobs/s"
            + (f" against {fmt(wp.get('rates_before'))} jobs/s in the runs just before it"
               if wp.get("rates_before") else "")
            + f": {wp.get('fraction_of_no_prune')} of the rate with the million rows and no prune"
            + ("" if wp.get("prune_finished") is not False else
               " (the prune was stopped after the runs; its rate is over the time it ran)")
            + ("" if wp.get("all_during_prune") else " (the prune ended during the last run)")
            + ".\n")
    return "\n".join(rows)
