"""Test-only job types for the fault suite.

Imported inside the slow fault tests that use them (never at collection, so
the rest of a `make test` session sees the product's types only) and by the
worker processes they start (`tests.faults.worker_main`); not by the product.

- `faults-locked`: durable steps under a Procrastinate lock (`faults:<key>`),
  so a second job of the same key waits until the first one's queue row ends.
- `faults-brief`: the same, with a 3-second maximum duration, for expiry.
- `faults-counted`: durable steps that record every execution (`faults_step_runs`,
  started at the step function's first line) and an effect written with the
  completion, in a table with no unique key (`faults_effects`), so a test can
  count steps re-run and effects duplicated rather than have a constraint hide
  them. The tables are created by `counted_tables()`.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from django.db import connection
from rest_framework import serializers

from jobs.registry import JobType, register
from jobs.runtime import JobContext


class LockedInput(serializers.Serializer):
    key = serializers.CharField(max_length=50)
    steps = serializers.IntegerField(min_value=1, max_value=1000, default=5)
    step_seconds = serializers.FloatField(min_value=0, max_value=60, default=0.2)


def run_locked(ctx: JobContext) -> dict[str, Any]:
    steps = ctx.input["steps"]
    for index in range(1, steps + 1):
        ctx.step(f"step-{index}", functools.partial(_sleep, ctx.input["step_seconds"], index))
        ctx.progress(index * 99 // steps, f"Step {index} of {steps}")
    return {"steps": steps, "attempt": ctx.attempt}


def _sleep(seconds: float, index: int) -> dict[str, int]:
    time.sleep(seconds)
    return {"step": index}


def _lock(input: Mapping[str, Any], scope: str) -> str:
    return f"faults:{input['key']}"


register(JobType(name="faults-locked", handler=run_locked, title="Fault suite: locked",
                 input_serializer=LockedInput, public=False, max_retries=3, lock=_lock))
register(JobType(name="faults-brief", handler=run_locked, title="Fault suite: brief",
                 input_serializer=LockedInput, public=False, max_retries=0,
                 max_duration_seconds=3, lock=_lock))


COUNTED_TABLES = """
CREATE TABLE IF NOT EXISTS faults_step_runs (
    job_id uuid NOT NULL, name text NOT NULL, token bigint, attempt integer,
    pid integer NOT NULL DEFAULT pg_backend_pid(),
    started_at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE TABLE IF NOT EXISTS faults_effects (
    job_id uuid NOT NULL, token bigint, attempt integer,
    at timestamptz NOT NULL DEFAULT clock_timestamp());
TRUNCATE faults_step_runs, faults_effects;
"""


def counted_tables() -> None:
    with connection.cursor() as cursor:
        cursor.execute(COUNTED_TABLES)


class CountedInput(serializers.Serializer):
    steps = serializers.IntegerField(min_value=1, max_value=1000, default=3)
    step_seconds = serializers.FloatField(min_value=0, max_value=60, default=0.1)


def run_counted(ctx: JobContext) -> dict[str, Any]:
    steps = ctx.input["steps"]
    for index in range(1, steps + 1):
        ctx.step(f"step-{index}", functools.partial(_counted_step, ctx, index))
        ctx.progress(index * 99 // steps, f"Step {index} of {steps}")
    ctx.on_complete(lambda: _execute(
        "INSERT INTO faults_effects (job_id, token, attempt) VALUES (%s, %s, %s)",
        [str(ctx.job_id), ctx.token, ctx.attempt]))
    return {"steps": steps, "attempt": ctx.attempt}


def _counted_step(ctx: JobContext, index: int) -> dict[str, int]:
    # The start is read here, on the worker's clock (the same machine's as the
    # server's), not when the INSERT reaches the server: a worker frozen between
    # this line and its INSERT began the step before the freeze, and the server's
    # clock_timestamp() would date it after the resume, after the current attempt
    # stored the step, and count a step run the platform never allowed twice.
    started_at = datetime.now(UTC)
    _execute("INSERT INTO faults_step_runs (job_id, name, token, attempt, started_at)"
             " VALUES (%s, %s, %s, %s, %s)",
             [str(ctx.job_id), f"step-{index}", ctx.token, ctx.attempt, started_at])
    deadline = time.monotonic() + ctx.input["step_seconds"]
    while time.monotonic() < deadline:
        time.sleep(min(0.02, max(0.0, deadline - time.monotonic())))
    return {"step": index}


def _execute(sql: str, params: list[Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


register(JobType(name="faults-counted", handler=run_counted, title="Fault suite: counted",
                 input_serializer=CountedInput, public=False, max_retries=3))
