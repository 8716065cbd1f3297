"""The fault suite: each test counts what it did and what was lost.

Slow tests carry the `faults` marker and run only with FAULTS=1
(`make test-faults`); the fast ones run in `make test` too. A FAULTS=1 run
writes the counts to tests/faults/RESULTS.md.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import WorkerProcess, subprocess_env

COUNTS: list[dict[str, Any]] = []
BASE_DIR = Path(__file__).resolve().parents[2]
RESULTS = Path(__file__).with_name("RESULTS.md")


def record(name: str, *, did: int, lost: int, duplicated: int = 0, note: str = "") -> None:
    COUNTS.append({"name": name, "did": did, "lost": lost, "duplicated": duplicated,
                   "note": note})


class FaultWorker(WorkerProcess):
    """A worker process with the suite's test-only tasks (tests/faults/worker_main.py)."""

    def __init__(self, *args: str, **env: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.faults.worker_main", *args],
            cwd=BASE_DIR, env=subprocess_env(**env),
        )


@pytest.fixture
def fault_worker(clean_queue: None) -> Iterator[Callable[..., FaultWorker]]:
    procs: list[FaultWorker] = []

    def start(*args: str, **env: str) -> FaultWorker:
        proc = FaultWorker(*args, **env)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        proc.stop()


@pytest.fixture
def processes() -> Iterator[list[Any]]:
    """Processes a test starts against a cluster of its own (tests/faults/cluster.py),
    stopped after it."""
    procs: list[Any] = []
    yield procs
    for p in procs:
        p.stop()


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    if os.environ.get("FAULTS") == "1":
        return
    skip = pytest.mark.skip(reason="slow fault test: run with FAULTS=1 (make test-faults)")
    for item in items:
        if item.get_closest_marker("faults") is not None:
            item.add_marker(skip)


HEADER = "| fault | did | lost | duplicated | note | run |"


def _previous_rows() -> dict[str, str]:
    """Rows of the last RESULTS.md by fault name: a partial run keeps the others' counts."""
    if not RESULTS.exists():
        return {}
    rows = {}
    for line in RESULTS.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and len(cells) == 6 and cells[0] not in ("fault", "---"):
            rows[cells[0]] = line
    return rows


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    if os.environ.get("FAULTS") != "1" or not COUNTS:
        return
    when = f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
    rows = _previous_rows()
    for c in COUNTS:
        rows[c["name"]] = (f"| {c['name']} | {c['did']} | {c['lost']} | {c['duplicated']} | "
                           f"{c['note']} | {when} |")
    lines = [
        "# Fault suite results",
        "",
        "Written by `make test-faults` (`FAULTS=1 pytest tests/faults`): each fault's counts",
        "from the last run that exercised it. `did` counts what the test did (jobs, requests,",
        "rounds), `lost` what went missing or broke the rule, `duplicated` what happened twice.",
        f"Last run: {when}, pytest exit status {exitstatus}.",
        "",
        HEADER,
        "| --- | --- | --- | --- | --- | --- |",
        *rows.values(),
    ]
    RESULTS.write_text("\n".join(lines) + "\n")
