#!/usr/bin/env python3
"""The project-local PostgreSQL cluster, used when DATABASE_URL is unset.

Standard library only: it runs before the project's virtualenv exists.

    devdb.py start            initialise (first time) and start the cluster
    devdb.py stop             stop it
    devdb.py status           say whether it runs
    devdb.py exec -- CMD...   run CMD with the cluster up; the last exec to
                              finish stops it if an exec started it (with
                              DATABASE_URL set, just run CMD)

The cluster lives in `.pg/` in the checkout (ignored by git). It listens on a
unix socket in `.pg/run` only (no TCP port), so several checkouts on one
machine never collide. PostgreSQL refuses to run as root: when this runs as
root, the server runs as the `postgres` user (or `nobody`).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TextIO

BASE_DIR = Path(__file__).resolve().parent.parent
PG_DIR = BASE_DIR / ".pg"
DATA_DIR = PG_DIR / "data"
RUN_DIR = PG_DIR / "run"
LOG_FILE = PG_DIR / "postgres.log"
DB_USER = "plinth"
DB_NAME = "plinth"
PORT = "5432"  # names the socket file only; nothing listens on TCP


def find_bin(name: str) -> str:
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0,
    )
    found = shutil.which(name)
    if found:
        return found
    if candidates:
        return candidates[-1]
    sys.exit(
        f"devdb: PostgreSQL's `{name}` was not found on PATH or under "
        "/usr/lib/postgresql/*/bin. Install the PostgreSQL server "
        "(Debian: apt-get install postgresql) or set DATABASE_URL."
    )


def server_user() -> pwd.struct_passwd | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    sys.exit("devdb: running as root and no unprivileged user (postgres, nobody) exists")


def run_as_server(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    user = server_user()
    if user is None:
        return subprocess.run(cmd, check=False, **kwargs)  # type: ignore[call-overload]

    def demote() -> None:
        os.setgid(user.pw_gid)
        os.setuid(user.pw_uid)

    env = dict(os.environ, HOME=str(PG_DIR))
    return subprocess.run(  # type: ignore[call-overload]
        cmd, check=False, preexec_fn=demote, env=env, cwd=str(PG_DIR), **kwargs
    )


def ensure_dirs() -> None:
    for d in (PG_DIR, RUN_DIR):
        d.mkdir(parents=True, exist_ok=True)
    user = server_user()
    if user is not None:
        for d in (PG_DIR, RUN_DIR):
            os.chown(d, user.pw_uid, user.pw_gid)
        if DATA_DIR.exists():
            os.chown(DATA_DIR, user.pw_uid, user.pw_gid)
        # The server must be able to reach its folder through the checkout.
        path = PG_DIR.parent
        while path != path.parent:
            mode = path.stat().st_mode
            if not mode & 0o001:
                os.chmod(path, mode | 0o001)
            path = path.parent


def initdb() -> None:
    if (DATA_DIR / "PG_VERSION").exists():
        return
    print(f"devdb: creating a PostgreSQL cluster in {DATA_DIR}", flush=True)
    result = run_as_server(
        [
            find_bin("initdb"),
            "-D",
            str(DATA_DIR),
            "-U",
            DB_USER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
        ],
        stdout=subprocess.DEVNULL,
    )
    if result.returncode:
        sys.exit("devdb: initdb failed")
    conf = DATA_DIR / "postgresql.conf"
    with conf.open("a") as fh:
        fh.write(
            "\n# plinth-jobs local cluster\n"
            "listen_addresses = ''\n"
            f"unix_socket_directories = '{RUN_DIR}'\n"
            "max_connections = 200\n"
            "shared_buffers = 128MB\n"
        )


def is_running() -> bool:
    result = run_as_server(
        [find_bin("pg_ctl"), "status", "-D", str(DATA_DIR)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return result.returncode == 0


def psql(sql: str, db: str = "postgres") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [
            find_bin("psql"),
            "-h",
            str(RUN_DIR),
            "-p",
            PORT,
            "-U",
            DB_USER,
            "-d",
            db,
            "-tAc",
            sql,
        ],
        capture_output=True,
        check=False,
    )


def start() -> bool:
    """Start the cluster; True when this call started it."""
    ensure_dirs()
    initdb()
    if is_running():
        return False
    result = run_as_server(
        [
            find_bin("pg_ctl"),
            "start",
            "-D",
            str(DATA_DIR),
            "-l",
            str(LOG_FILE),
            "-o",
            f"-p {PORT}",
            "-w",
            "-t",
            "60",
        ],
        stdout=subprocess.DEVNULL,
    )
    if result.returncode:
        tail = LOG_FILE.read_text(errors="replace")[-2000:] if LOG_FILE.exists() else ""
        sys.exit(f"devdb: the server did not start. Log:\n{tail}")
    for _ in range(100):
        if psql("SELECT 1").returncode == 0:
            break
        time.sleep(0.1)
    if psql(f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}'").stdout.strip() != b"1":
        psql(f'CREATE DATABASE "{DB_NAME}"')
    print(f"devdb: PostgreSQL running on socket {RUN_DIR} (database {DB_NAME})", flush=True)
    return True


def stop() -> None:
    if DATA_DIR.exists() and is_running():
        run_as_server(
            [find_bin("pg_ctl"), "stop", "-D", str(DATA_DIR), "-m", "fast", "-w"],
            stdout=subprocess.DEVNULL,
        )
        print("devdb: PostgreSQL stopped", flush=True)


USERS_DIR = PG_DIR / "users"  # one file per live `exec`, named by its pid
EXEC_STARTED = PG_DIR / "exec-started"  # the cluster was started by an `exec`
LOCK_FILE = PG_DIR / "devdb.lock"


def _locked() -> TextIO:
    import fcntl

    PG_DIR.mkdir(parents=True, exist_ok=True)
    handle = open(LOCK_FILE, "w")  # noqa: SIM115 (closed by the caller)
    fcntl.flock(handle, fcntl.LOCK_EX)
    return handle


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def exec_with_cluster(cmd: list[str]) -> int:
    """Run CMD with the cluster up. Several `exec`s may share the cluster (`make run` in
    one terminal, `make test` in another): the last one to finish stops it, and only
    if an `exec` started it (a cluster started with `devdb.py start` keeps running)."""
    if os.environ.get("DATABASE_URL"):
        return subprocess.call(cmd)
    me = USERS_DIR / str(os.getpid())
    handle = _locked()
    try:
        if start():
            EXEC_STARTED.touch()
        USERS_DIR.mkdir(parents=True, exist_ok=True)
        me.touch()
    finally:
        handle.close()
    proc = subprocess.Popen(cmd)

    def forward(signum: int, _frame: object) -> None:
        proc.send_signal(signum)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    try:
        code = proc.wait()
    finally:
        handle = _locked()
        try:
            me.unlink(missing_ok=True)
            others = [p for p in USERS_DIR.iterdir() if p.name.isdigit() and _alive(int(p.name))]
            if not others and EXEC_STARTED.exists():
                stop()
                EXEC_STARTED.unlink(missing_ok=True)
        finally:
            handle.close()
    return code


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    command = argv[0]
    if command == "start":
        start()
        return 0
    if command == "stop":
        stop()
        return 0
    if command == "status":
        running = DATA_DIR.exists() and is_running()
        print("running" if running else "stopped")
        return 0 if running else 1
    if command == "exec":
        rest = argv[1:]
        if rest and rest[0] == "--":
            rest = rest[1:]
        if not rest:
            print("devdb: exec needs a command", file=sys.stderr)
            return 2
        return exec_with_cluster(rest)
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
