"""A throwaway PostgreSQL cluster, and the project's processes pointed at it.

For the fault tests that restart or cut off the database: they must never do
that to the shared project cluster (scripts/devdb.py), which other test runs
use. `TempCluster` runs its own server (the same binaries devdb.py finds, as
the same unprivileged user when we are root) with its data and unix socket in
a temporary folder and TCP on a free port of the addresses asked for.
`ProjectProcess` runs `manage.py ...` with DATABASE_URL pointing at it.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import psycopg

BASE_DIR = Path(__file__).resolve().parents[2]
DB_USER = "plinth"
DB_NAME = "plinth_faults"


def _devdb() -> Any:
    path = BASE_DIR / "scripts" / "devdb.py"
    spec = importlib.util.spec_from_file_location("_plinth_devdb", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


devdb = _devdb()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class TempCluster:
    """initdb + pg_ctl in a temporary folder; `stop()` removes it all."""

    def __init__(
        self,
        *,
        listen: Iterable[str] = ("127.0.0.1",),
        trust_networks: Iterable[str] = (),
        settings: dict[str, str] | None = None,
    ) -> None:
        self.listen = list(listen)
        self.trust_networks = list(trust_networks)
        self.settings = settings or {}
        self.root = Path(tempfile.mkdtemp(prefix="plinth-faults-pg-"))
        self.data = self.root / "data"
        self.run_dir = self.root / "run"
        self.log = self.root / "postgres.log"
        self.port = free_port()
        self.started = False

    # -- running the server binaries as the server user ----------------------

    def _run(self, cmd: list[str], check: bool = True) -> subprocess.CompletedProcess[bytes]:
        user = devdb.server_user()
        kwargs: dict[str, Any] = {"cwd": str(self.root), "capture_output": True}
        if user is not None:
            def demote() -> None:
                os.setgid(user.pw_gid)
                os.setuid(user.pw_uid)

            kwargs["preexec_fn"] = demote
            kwargs["env"] = dict(os.environ, HOME=str(self.root))
        result = subprocess.run(cmd, check=False, **kwargs)
        if check and result.returncode:
            tail = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise RuntimeError(
                f"{cmd[0]} failed ({result.returncode}): {result.stderr.decode()[-2000:]}\n{tail}"
            )
        return result

    def start(self) -> TempCluster:
        user = devdb.server_user()
        self.run_dir.mkdir()
        if user is not None:
            os.chmod(self.root, 0o755)
            for d in (self.root, self.run_dir):
                os.chown(d, user.pw_uid, user.pw_gid)
        self._run([devdb.find_bin("initdb"), "-D", str(self.data), "-U", DB_USER,
                   "--auth=trust", "--encoding=UTF8", "--locale=C"])
        conf = {
            "listen_addresses": "'" + ",".join(self.listen) + "'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.run_dir}'",
            "max_connections": "100",
            "shared_buffers": "32MB",
            "fsync": "off",  # a test cluster: speed over durability across OS crashes
            "full_page_writes": "off",
            **self.settings,
        }
        with (self.data / "postgresql.conf").open("a") as fh:
            fh.write("\n# plinth-jobs fault-test cluster\n")
            fh.writelines(f"{k} = {v}\n" for k, v in conf.items())
        with (self.data / "pg_hba.conf").open("a") as fh:
            fh.writelines(f"host all all {net} trust\n" for net in self.trust_networks)
        self._pg_ctl("start")
        self.started = True
        with self.connect("postgres") as conn:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
        return self

    def _pg_ctl(self, action: str, *extra: str) -> None:
        self._run([devdb.find_bin("pg_ctl"), action, "-D", str(self.data), "-l", str(self.log),
                   "-w", "-t", "60", *extra])

    def restart(self, mode: str = "fast") -> None:
        self._pg_ctl("restart", "-m", mode)

    def stop(self) -> None:
        if self.started:
            self._run([devdb.find_bin("pg_ctl"), "stop", "-D", str(self.data), "-m",
                       "immediate", "-w", "-t", "30"], check=False)
            self.started = False
        shutil.rmtree(self.root, ignore_errors=True)

    # -- clients -------------------------------------------------------------------

    def url(self, host: str = "127.0.0.1", db: str = DB_NAME) -> str:
        return f"postgres://{DB_USER}@{host}:{self.port}/{db}"

    def connect(self, db: str = DB_NAME) -> psycopg.Connection[Any]:
        return psycopg.connect(host=str(self.run_dir), port=self.port, user=DB_USER,
                               dbname=db, autocommit=True)

    def query(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        with self.connect() as conn:
            return conn.execute(sql, params).fetchall()

    def scalar(self, sql: str, params: Any = None) -> Any:
        return self.query(sql, params)[0][0]

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def project_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a project process using `database_url` (and no test database)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_NAME", "DATABASE_URL_FILE", "PYTEST_CURRENT_TEST")}
    env.update(DATABASE_URL=database_url, PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def manage(database_url: str, *args: str, timeout: float = 120,
           **env: str) -> subprocess.CompletedProcess[str]:
    """`manage.py ARGS` to completion; raises with its output when it fails."""
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR,
                            env=project_env(database_url, **env), capture_output=True,
                            text=True, timeout=timeout)
    if result.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout[-2000:]}\n"
                           f"{result.stderr[-4000:]}")
    return result


class ProjectProcess:
    """A long-running project process (a worker, the web server), its output in a file."""

    def __init__(self, argv: list[str], database_url: str, *, log: Path,
                 prefix: list[str] | None = None, **env: str) -> None:
        self.log_path = log
        self._log = log.open("wb")
        self.proc = subprocess.Popen([*(prefix or []), sys.executable, *argv], cwd=BASE_DIR,
                                     env=project_env(database_url, **env), stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def output(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self, timeout: float = 15) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(10)
        self._log.close()


def wait_until(predicate: Any, timeout: float, interval: float = 0.2, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except Exception:
            value = None
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"not within {timeout} s: {what}")
