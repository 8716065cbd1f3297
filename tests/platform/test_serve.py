"""`manage.py serve` (what `make run` runs) restarts a worker that exited."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.conftest import subprocess_env

pytestmark = pytest.mark.django_db(transaction=True)

BASE = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_serve_restarts_a_killed_worker_and_stops_everything_on_ctrl_c(clean_queue):
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--no-demo", "--port", str(_free_port())],
        cwd=BASE, env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout],
                     daemon=True).start()

    def wait_line(pattern: str, timeout: float = 60) -> re.Match[str]:
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            found = re.search(pattern, line)
            if found:
                return found
        raise AssertionError(f"serve never printed {pattern!r}")

    try:
        first = int(wait_line(r"worker started \(pid (\d+)\)").group(1))
        os.kill(first, signal.SIGKILL)

        wait_line(rf"worker \(pid {first}\) exited with code -9; restarting it in 1 s")
        second = int(wait_line(r"worker started \(pid (\d+)\)").group(1))
        assert second != first and _alive(second)
        assert proc.poll() is None  # the web server and serve itself go on

        proc.send_signal(signal.SIGINT)
        assert proc.wait(45) == 0
        assert not _alive(second)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
