"""The production web server (`manage.py serve`'s set-up, config/server.py;
DEBUG off) and the
load client: wrk when it is installed (`apt-get install -y wrk`), else a small
asyncio HTTP/1.1 keep-alive client."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from bench.common import PY, ROOT, child_env, free_port, percentile, stop_process


def server_description() -> str:
    from config.server import web_workers

    return (f"manage.py serve's set-up (config/server.py): uvicorn config.asgi:application"
            f" --workers {web_workers()} (DEBUG=false)")


class Server:
    def __init__(self, *, workers: int | None = None, **env: str) -> None:
        from config.server import uvicorn_command, web_workers

        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.workers = workers or web_workers()
        cmd = uvicorn_command("127.0.0.1", self.port, workers=self.workers, extra=[
            "--log-level", "warning",
            # e.g. "--http h11 --loop asyncio": the pure-Python server, to compare
            *os.environ.get("BENCH_UVICORN_ARGS", "").split()])
        self.proc = subprocess.Popen(
            [PY, *cmd[1:]],
            # 4xx answers are the figure, not news: keep the log quiet.
            cwd=ROOT, env=child_env(**{"LOG_LEVEL": "ERROR", **env}),
        )

    def __enter__(self) -> Server:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.base + "/api/jobs/types", timeout=2)
                break
            except urllib.error.HTTPError:
                break  # it answers (401: no token)
            except OSError:
                time.sleep(0.2)
        else:
            stop_process(self.proc)
            raise RuntimeError("uvicorn did not start")
        time.sleep(1.0)  # every worker process up
        return self

    def __exit__(self, *exc: Any) -> None:
        stop_process(self.proc)


def get(url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"wrk latency not understood: {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def load(url: str, *, seconds: int, connections: int, headers: dict[str, str],
         lua: str | None = None) -> dict[str, Any]:
    """Requests/s and latency percentiles for `connections` keep-alive clients."""
    if shutil.which("wrk"):
        return _wrk(url, seconds=seconds, connections=connections, headers=headers, lua=lua)
    if lua is not None:
        raise RuntimeError("this figure needs wrk (apt-get install -y wrk)")
    return asyncio.run(_python_load(url, seconds, connections, headers))


def _wrk(url: str, *, seconds: int, connections: int, headers: dict[str, str],
         lua: str | None) -> dict[str, Any]:
    # One wrk thread: the load client takes as little of the 2 cores as it can.
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    script = None
    if lua:
        script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
        script.write(lua)
        script.close()
        cmd += ["-s", script.name]
    try:
        out = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=seconds + 60,
                             check=True).stdout
    finally:
        if script:
            Path(script.name).unlink(missing_ok=True)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    pcts = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    total = re.search(r"(\d+) requests in", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": rps,
        "p50_ms": _ms(pcts["50"]),
        "p90_ms": _ms(pcts["90"]),
        "p99_ms": _ms(pcts["99"]),
        "requests": int(total.group(1)) if total else None,
        "non_2xx_3xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors.group(1).strip() if errors else "",
        "client": "wrk",
    }


async def _python_load(url: str, seconds: int, connections: int,
                       headers: dict[str, str]) -> dict[str, Any]:
    match = re.match(r"http://([^:/]+):(\d+)(/.*)", url)
    assert match, url
    host, port, path = match.group(1), int(match.group(2)), match.group(3)
    head = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    deadline = time.monotonic() + seconds

    async def client() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        while time.monotonic() < deadline:
            t = time.perf_counter()
            writer.write(head.encode())
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if length:
                await reader.readexactly(length)
            latencies.append((time.perf_counter() - t) * 1000)
            code = int(status_line.split()[1])
            statuses[code] = statuses.get(code, 0) + 1
        writer.close()

    started = time.monotonic()
    await asyncio.gather(*(client() for _ in range(connections)))
    elapsed = time.monotonic() - started
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 50),
        "p90_ms": percentile(latencies, 90),
        "p99_ms": percentile(latencies, 99),
        "requests": len(latencies),
        "non_2xx_3xx": sum(v for k, v in statuses.items() if not 200 <= k < 400),
        "socket_errors": "",
        "client": "python-asyncio",
    }


def db_connections() -> int:
    from bench.common import sql

    return int(sql("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                   " AND pid <> pg_backend_pid()")[0][0])
