"""1. The ceiling: pgbench running one minimal durable job lifecycle per
transaction script (insert a job; claim it with FOR UPDATE SKIP LOCKED; mark
it done: three commits), in a scratch database created and dropped here."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from bench.common import (
    PGBIN,
    Sizes,
    drop_database,
    log,
    pg_cli_env,
    pg_connect,
    recreate_database,
    summary,
)

SCRATCH_DB = "plinth_bench_pgbench"
CLIENTS = (1, 4, 8)

SCHEMA = """
CREATE TABLE bench_queue (
    id bigserial PRIMARY KEY,
    status text NOT NULL DEFAULT 'todo',
    payload jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz
);
CREATE INDEX bench_queue_todo ON bench_queue (id) WHERE status = 'todo';
"""

# Three statements, three commits (pgbench runs each in autocommit). A claim
# that finds every todo row locked by other claimers gets 0 and marks nothing.
LIFECYCLE = (
    "INSERT INTO bench_queue (payload) VALUES ('{\"task\": \"noop\"}');\n"
    "WITH c AS (UPDATE bench_queue SET status = 'doing', updated_at = now() WHERE id = ("
    "SELECT id FROM bench_queue WHERE status = 'todo' ORDER BY id LIMIT 1 "
    "FOR UPDATE SKIP LOCKED) RETURNING id) SELECT coalesce(max(id), 0) AS claimed FROM c "
    "\\gset\n"
    "UPDATE bench_queue SET status = 'done', updated_at = now() WHERE id = :claimed;\n"
)

SINGLE_INSERT = "INSERT INTO bench_queue (payload) VALUES ('{\"task\": \"noop\"}');\n"


def _pgbench(script: str, clients: int, seconds: int) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as fh:
        fh.write(script)
        path = fh.name
    try:
        result = subprocess.run(
            [str(PGBIN / "pgbench"), "-n", "-f", path, "-c", str(clients), "-j",
             str(min(clients, 2)), "-T", str(seconds), "-M", "prepared", SCRATCH_DB],
            capture_output=True, text=True, env=pg_cli_env(), check=False,
        )
    finally:
        Path(path).unlink(missing_ok=True)
    if result.returncode:
        raise RuntimeError(f"pgbench failed: {result.stderr[-1000:]}")
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", result.stdout)
    if not match:
        raise RuntimeError(f"pgbench output not understood: {result.stdout[-1000:]}")
    return float(match.group(1))


def _truncate() -> None:
    with pg_connect(SCRATCH_DB) as conn:
        conn.execute("TRUNCATE bench_queue RESTART IDENTITY")
        conn.execute("VACUUM ANALYZE bench_queue")


def run(sz: Sizes) -> dict[str, Any]:
    recreate_database(SCRATCH_DB)
    try:
        with pg_connect(SCRATCH_DB) as conn:
            conn.execute(SCHEMA)
        out: dict[str, Any] = {"lifecycle": {}, "single_insert": {}, "seconds": sz.pgbench_seconds}
        for clients in CLIENTS:
            lifecycles, inserts = [], []
            # Alternate the two scripts so both see the same drift of the machine.
            for _ in range(sz.reps):
                _truncate()
                lifecycles.append(_pgbench(LIFECYCLE, clients, sz.pgbench_seconds))
                _truncate()
                inserts.append(_pgbench(SINGLE_INSERT, clients, sz.pgbench_seconds))
            out["lifecycle"][str(clients)] = summary(lifecycles, 0)
            out["single_insert"][str(clients)] = summary(inserts, 0)
            log(f"ceiling {clients} clients: lifecycles/s {out['lifecycle'][str(clients)]}")
        out["ceiling"] = max(s["median"] for s in out["lifecycle"].values())
        out["script"] = LIFECYCLE
        return out
    finally:
        drop_database(SCRATCH_DB)
