"""`make bench`: every benchmark side by side in one run; writes bench/RESULTS.md
and bench/results.json. Sizes and the scenarios to run come from the
environment (see bench/common.py): `BENCH_SCALE=quick make bench` takes minutes."""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from pathlib import Path

# The repository, not bench/, first on the path (bench/ names must not shadow modules).
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench import common  # noqa: E402
from bench.common import BENCH_DB, log, sizes  # noqa: E402

SCENARIOS = ["ceiling", "throughput", "latency", "polling", "streaming", "admission", "scale",
             "routes"]


def main() -> int:
    sz = sizes()
    chosen = common.only() or set(SCENARIOS)
    out_dir = common.out_dir()
    results_path = out_dir / "results.json"
    common.prepare_env()
    log(f"scale={sz.scale} reps={sz.reps} database={BENCH_DB} scenarios={sorted(chosen)}")
    common.recreate_database(BENCH_DB)
    common.migrate()
    common.setup_django()
    from bench import report

    previous: dict = {}
    if os.environ.get("BENCH_MERGE") and results_path.exists():
        # Re-run some scenarios into the recorded results, the others kept.
        previous = json.loads(results_path.read_text())
    results: dict = {
        "started_at": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "sizes": sz.__dict__,
        "machine": common.machine(),
        "versions": common.versions(),
        "load": {"before": common.uptime()},
        "scenarios": dict(previous.get("scenarios", {})),
        "errors": {k: v for k, v in previous.get("errors", {}).items() if k not in chosen},
    }
    t0 = time.monotonic()

    def record(name: str, fn) -> None:  # type: ignore[no-untyped-def]
        if name not in chosen:
            return
        log(f"--- {name} ({common.uptime()})")
        started = time.monotonic()
        try:
            results["scenarios"].pop(name, None)
            results["scenarios"][name] = fn()
            results["scenarios"][name]["load_after"] = common.uptime()
            results["scenarios"][name]["duration_s"] = round(time.monotonic() - started)
        except Exception as exc:  # one failed scenario must not lose the others
            traceback.print_exc()
            results["errors"][name] = f"{type(exc).__name__}: {exc}"
        common.dump_json(results_path, results)

    from bench import admission, ceiling, latency, polling, routes, scale, streaming, throughput

    record("ceiling", lambda: ceiling.run(sz))
    ceiling_value = results["scenarios"].get("ceiling", {}).get("ceiling")
    record("throughput", lambda: throughput.run(sz, ceiling_value))
    record("latency", lambda: latency.run(sz))
    record("polling", lambda: polling.run(sz))
    record("streaming", lambda: streaming.run(sz))
    record("admission", lambda: admission.run(sz))
    record("scale", lambda: scale.run(sz, results["scenarios"]))
    record("routes", lambda: routes.run(sz))
    if previous:
        results["merged_into"] = previous.get("started_at")
        results["load"] = {**previous.get("load", {}), f"merge {results['started_at']}":
                           results["load"]["before"]}
    results["load"]["after"] = common.uptime()
    results["duration_s"] = round(time.monotonic() - t0)
    # Every target of every scenario in one list (bench/report.py gathers them).
    results["targets"] = report.targets(results)
    common.dump_json(results_path, results)
    (out_dir / "RESULTS.md").write_text(report.render(results))
    log(f"wrote {results_path} and {out_dir / 'RESULTS.md'} in {results['duration_s']} s")
    if "--keep-db" not in sys.argv:
        from django.db import connections

        connections.close_all()
        common.drop_database(BENCH_DB)
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
