"""What every benchmark scenario shares: the bench database, sizes, statistics,
child processes and the machine's description.

Sizes come from the environment so one command does a quick check or the
recorded run:

    BENCH_SCALE=quick|full   (default full: the recorded figures)
    BENCH_REPS=N             repetitions of every figure (default 3, at least 3 for the record)
    BENCH_ONLY=a,b           run only these scenarios (ceiling, throughput, latency,
                             polling, streaming, admission, scale)
    BENCH_DATABASE_NAME      the benchmark database (default plinth_bench; dropped and
                             created anew each run, so dev and test databases are untouched)
    BENCH_OUT                where results.json and RESULTS.md go (default bench/ for a
                             full run; quick and BENCH_ONLY runs default to
                             bench/out/, so they never overwrite the record)
    BENCH_JOBS, BENCH_LATENCY_SECONDS, BENCH_HTTP_SECONDS, BENCH_SCALE_ROWS,
    BENCH_PGBENCH_SECONDS, BENCH_STREAMS
                             override one size of the chosen scale
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
PY = sys.executable
PGBIN = Path("/usr/lib/postgresql/15/bin")


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    if not raw:
        return default
    value = int(raw)  # strict: a typo stops the run rather than being guessed at
    if value <= 0:
        raise SystemExit(f"{name} must be a positive integer, got {raw!r}")
    return value


@dataclass(frozen=True)
class Sizes:
    scale: str
    reps: int
    jobs: int  # no-op jobs per throughput figure
    latency_seconds: int  # pickup latency: seconds of jobs at `latency_rate`
    latency_rate: int
    http_seconds: int  # wrk duration per figure
    http_connections: int
    pgbench_seconds: int
    scale_rows: int  # finished jobs inserted for the scale scenario
    scale_jobs: int  # jobs per throughput figure in the scale scenario
    streams: int  # open event streams in the streaming scenario


def sizes() -> Sizes:
    scale = os.environ.get("BENCH_SCALE", "full")
    if scale not in ("quick", "full"):
        raise SystemExit(f"BENCH_SCALE must be quick or full, got {scale!r}")
    quick = scale == "quick"
    reps = _env_int("BENCH_REPS", 3)
    return Sizes(
        scale=scale,
        reps=reps,
        # The issue asks for 10,000 jobs per throughput figure; 4 configurations
        # x 2 variants x 3 repetitions of 10,000 take about 19 minutes on 2 quiet
        # cores, 40 for the whole run: 7,500 keeps `make bench` near 35 minutes
        # (BENCH_JOBS=10000 for the size; see bench/ANALYSIS.md).
        jobs=_env_int("BENCH_JOBS", 1_000 if quick else 7_500),
        latency_seconds=_env_int("BENCH_LATENCY_SECONDS", 6 if quick else 30),
        latency_rate=_env_int("BENCH_LATENCY_RATE", 20),
        http_seconds=_env_int("BENCH_HTTP_SECONDS", 5 if quick else 20),
        http_connections=_env_int("BENCH_HTTP_CONNECTIONS", 64),
        pgbench_seconds=_env_int("BENCH_PGBENCH_SECONDS", 4 if quick else 10),
        scale_rows=_env_int("BENCH_SCALE_ROWS", 100_000 if quick else 1_000_000),
        scale_jobs=_env_int("BENCH_SCALE_JOBS", 1_000 if quick else 2_000),
        streams=_env_int("BENCH_STREAMS", 200 if quick else 1_000),
    )


def only() -> set[str] | None:
    raw = os.environ.get("BENCH_ONLY", "").strip()
    return {s.strip() for s in raw.split(",") if s.strip()} or None


def out_dir() -> Path:
    """bench/ for the recorded run (full, every scenario, or BENCH_MERGE into it),
    bench/out/ otherwise."""
    raw = os.environ.get("BENCH_OUT", "").strip()
    if raw:
        path = Path(raw)
    elif os.environ.get("BENCH_MERGE") or (sizes().scale == "full" and not only()):
        path = BENCH_DIR
    else:
        path = BENCH_DIR / "out"
    path.mkdir(parents=True, exist_ok=True)
    return path


# --- the database ------------------------------------------------------------

BENCH_DB = os.environ.get("BENCH_DATABASE_NAME", "plinth_bench")


def child_env(**extra: str) -> dict[str, str]:
    """The environment of every process the bench starts: the bench database,
    production-ish settings (DEBUG off, quiet logs)."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_NAME=BENCH_DB,
        DEBUG="false",
        LOG_LEVEL="WARNING",
        PROCRASTINATE_LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


def prepare_env() -> None:
    """Point this process's settings at the bench database (before any setting is read)."""
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_NAME=BENCH_DB,
        DEBUG="false",
        LOG_LEVEL="WARNING",
        PROCRASTINATE_LOG_LEVEL="WARNING",
    )
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def setup_django() -> None:
    prepare_env()
    import django

    django.setup()
    import bench.tasks  # noqa: F401  (registers the bare no-op tasks)


def db_params() -> dict[str, str]:
    """Host, port and user of the database the settings point at."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    return {
        "host": str(db.get("HOST") or ""),
        "port": str(db.get("PORT") or "5432"),
        "user": str(db.get("USER") or ""),
        "password": str(db.get("PASSWORD") or ""),
    }


def pg_connect(dbname: str, autocommit: bool = True) -> Any:
    import psycopg

    p = db_params()
    return psycopg.connect(
        host=p["host"] or None,
        port=p["port"],
        user=p["user"] or None,
        password=p["password"] or None,
        dbname=dbname,
        autocommit=autocommit,
    )


def pg_cli_env() -> dict[str, str]:
    p = db_params()
    env = dict(os.environ, PGHOST=p["host"], PGPORT=p["port"], PGUSER=p["user"])
    if p["password"]:
        env["PGPASSWORD"] = p["password"]
    return env


def recreate_database(name: str) -> None:
    with pg_connect("postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(name: str) -> None:
    with pg_connect("postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrate() -> None:
    run([PY, "manage.py", "migrate", "--noinput", "-v", "0"], env=child_env())


def sql(query: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
    """Run one statement on the bench database (Django's connection, autocommit)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(query, params)
        if cursor.description is None:
            return []
        return list(cursor.fetchall())


class History:
    """Rows the scale scenario keeps between figures: queue ids up to `queue_max`
    and jobs created before `since`. Figures count only rows after them."""

    queue_max = 0
    since = "epoch"


def reset_queue() -> None:
    """Empty the job tables between figures, so each starts alike."""
    if History.queue_max or History.since != "epoch":
        _delete_new_rows()
        return
    from django.db import OperationalError

    # Requests a load client left in flight (a server still working off its backlog)
    # may hold row locks: TRUNCATE then deadlocks with them; they end in a moment.
    for attempt in range(20):
        try:
            sql(
                "TRUNCATE procrastinate_events, procrastinate_periodic_defers, "
                "procrastinate_jobs, jobs_jobevent, jobs_jobstep, jobs_job "
                "RESTART IDENTITY CASCADE"
            )
            break
        except OperationalError:
            if attempt == 19:
                raise
            time.sleep(0.5)
    sql("VACUUM ANALYZE procrastinate_jobs")
    sql("VACUUM ANALYZE jobs_job")


def _delete_new_rows() -> None:
    new_jobs = "SELECT id FROM jobs_job WHERE type = 'diagnostic' AND created_at > %s"
    sql(f"DELETE FROM jobs_jobevent WHERE job_id IN ({new_jobs})", [History.since])
    sql(f"DELETE FROM jobs_jobstep WHERE job_id IN ({new_jobs})", [History.since])
    sql("DELETE FROM jobs_job WHERE created_at > %s", [History.since])
    sql("DELETE FROM procrastinate_periodic_defers WHERE job_id > %s", [History.queue_max])
    sql("DELETE FROM procrastinate_jobs WHERE id > %s", [History.queue_max])


# --- statistics ---------------------------------------------------------------


def summary(values: Iterable[float], digits: int = 1) -> dict[str, Any]:
    """Median and spread of repeated measurements."""
    vals = sorted(float(v) for v in values)
    if not vals:
        return {"median": None, "min": None, "max": None, "n": 0, "values": []}
    med = statistics.median(vals)

    def r(v: float) -> float | int:
        return int(round(v)) if digits == 0 else round(v, digits)

    return {
        "median": r(med),
        "min": r(vals[0]),
        "max": r(vals[-1]),
        "spread_pct": round(100 * (vals[-1] - vals[0]) / med, 1) if med else None,
        "n": len(vals),
        "values": [r(v) for v in vals],
    }


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile."""
    vals = sorted(values)
    if not vals:
        return float("nan")
    k = max(0, min(len(vals) - 1, int(round(pct / 100 * len(vals) + 0.5)) - 1))
    return vals[k]


def fmt(s: dict[str, Any] | None, unit: str = "") -> str:
    """`median (min–max)` for the report."""
    if not s or s.get("median") is None:
        return "n/a"
    if s["n"] == 1:
        return f"{s['median']:,}{unit}"
    return f"{s['median']:,}{unit} ({s['min']:,}–{s['max']:,})"


# --- processes ------------------------------------------------------------------


def run(cmd: Sequence[str], *, env: dict[str, str] | None = None, timeout: float = 900,
        capture: bool = False) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        list(cmd), cwd=ROOT, env=env, timeout=timeout, text=True,
        capture_output=capture, check=False,
    )
    if result.returncode:
        detail = (result.stderr or "")[-2000:] if capture else ""
        raise RuntimeError(f"{' '.join(cmd)} exited {result.returncode}\n{detail}")
    return result


def stop_process(proc: subprocess.Popen[Any], timeout: float = 40) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


@contextlib.contextmanager
def processes(procs: list[subprocess.Popen[Any]]) -> Iterator[list[subprocess.Popen[Any]]]:
    try:
        yield procs
    finally:
        for p in procs:
            stop_process(p)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return Path("/proc/loadavg").read_text().strip()


_POSTMASTER: list[int] = []


def _postmaster_pid() -> int | None:
    """The bench database's postmaster: the parent of this session's backend."""
    if not _POSTMASTER:
        with contextlib.suppress(Exception):
            backend = int(sql("SELECT pg_backend_pid()")[0][0])
            raw = Path(f"/proc/{backend}/stat").read_text()
            _POSTMASTER.append(int(raw[raw.rindex(")") + 2 :].split()[1]))
    return _POSTMASTER[0] if _POSTMASTER else None


def postgres_cpu_seconds() -> float:
    """CPU time of the bench cluster's postgres processes so far: its postmaster
    (with the children that exited: ended backends) and its live children.
    Other databases of the same cluster (other users' tests) still count:
    noise. Without access to the postmaster, every postgres process."""
    tick = os.sysconf("SC_CLK_TCK")
    postmaster = _postmaster_pid()
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            raw = stat.read_text()
            comm = raw[raw.index("(") + 1 : raw.rindex(")")]
            if comm != "postgres":
                continue
            fields = raw[raw.rindex(")") + 2 :].split()
            pid, ppid = int(stat.parent.name), int(fields[1])
            if postmaster is not None and postmaster not in (pid, ppid):
                continue
            # utime, stime, cutime, cstime are fields 14-17 (1-based) of stat
            total += sum(int(f) for f in fields[11:15])
    return total / tick


# --- the machine -----------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gib = "?"
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gib = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return {
        "nproc": os.cpu_count(),
        "memory": mem_gib,
        "cpu": cpu,
        "kernel": platform.release(),
    }


def versions() -> dict[str, str]:
    import importlib.metadata as md

    out: dict[str, str] = {"python": platform.python_version()}
    for pkg in ("django", "procrastinate", "psycopg", "psycopg-pool", "djangorestframework",
                "uvicorn"):
        with contextlib.suppress(md.PackageNotFoundError):
            out[pkg] = md.version(pkg)
    with contextlib.suppress(Exception):
        out["postgresql"] = sql("SHOW server_version")[0][0]
        out["synchronous_commit"] = sql("SHOW synchronous_commit")[0][0]
        out["fsync"] = sql("SHOW fsync")[0][0]
    with contextlib.suppress(OSError):
        wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
        out["wrk"] = (wrk.stdout or wrk.stderr).split("\n")[0].strip()
    with contextlib.suppress(OSError):
        pgb = subprocess.run([str(PGBIN / "pgbench"), "--version"], capture_output=True,
                             text=True)
        out["pgbench"] = pgb.stdout.strip()
    return out


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def dump_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")


def create_users(users: int = 64, orgs: int = 16, prefix: str = "bench-adm") -> list[str]:
    """API tokens of `users` users spread over `orgs` organizations (the creating
    routes' clients: admission and routes), so per-user and per-organization
    limits are exercised as a real crowd would."""
    from bench.polling import api_user
    from jobs.models import Organization

    organizations = [Organization.objects.get_or_create(slug=f"{prefix}-{i}",
                                                        defaults={"name": f"Bench {i}"})[0]
                     for i in range(orgs)]
    return [api_user(f"{prefix}-{i}", organizations[i % orgs])[1] for i in range(users)]
