"""The production server set-up (config/server.py) that `make run` and the
benchmarks share: WEB_WORKERS uvicorn processes, one per CPU up to 4 by default."""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from config import server


def test_default_is_one_process_per_cpu_at_most_four(monkeypatch: Any) -> None:
    monkeypatch.delenv("WEB_WORKERS", raising=False)
    assert server.web_workers() == min(os.cpu_count() or 1, 4)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    assert server.web_workers() == 4


def test_web_workers_setting(monkeypatch: Any) -> None:
    monkeypatch.setenv("WEB_WORKERS", "3")
    command = server.uvicorn_command("127.0.0.1", 8123)
    assert command[1:4] == ["-m", "uvicorn", "config.asgi:application"]
    assert command[command.index("--workers") + 1] == "3"
    assert command[command.index("--port") + 1] == "8123"
    for bad in ("two", "0"):
        monkeypatch.setenv("WEB_WORKERS", bad)
        with pytest.raises(ImproperlyConfigured):
            server.web_workers()
