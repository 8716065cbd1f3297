"""Test-only job types for the fault suite.

Imported inside the slow fault tests that use them (never at collection, so
the rest of a `make test` session sees the product's types only) and by the
worker processes they start (`tests.faults.worker_main`); not by the product.

- `faults-locked`: durable steps under a Procrastinate lock (`faults:<key>`),
  so a second job of the same key waits until the first one's queue row ends.
- `faults-brief`: the same, with a 3-second maximum duration, for expiry.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping
from typing import Any

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
