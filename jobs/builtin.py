"""The built-in `diagnostic` job type, for tests, demos and benchmarks."""

from __future__ import annotations

import functools
import time
from typing import Any

from rest_framework import serializers

from jobs.errors import PermanentJobError, RetryableJobError
from jobs.models import DiagnosticEffect
from jobs.registry import JobType, register
from jobs.runtime import JobContext


class DiagnosticInput(serializers.Serializer):
    steps = serializers.IntegerField(min_value=0, max_value=1000, default=3)
    step_seconds = serializers.FloatField(min_value=0, max_value=300, default=0)
    # Named like Field.fail: DRF's metaclass takes declared fields out of the class.
    fail = serializers.ChoiceField(  # type: ignore[assignment]
        choices=["none", "retryable", "permanent"], default="none")
    fail_times = serializers.IntegerField(min_value=0, max_value=100, default=1)
    effect = serializers.BooleanField(default=False, required=False)


def run_diagnostic(ctx: JobContext) -> dict[str, Any]:
    steps = int(ctx.input.get("steps", 3))
    step_seconds = float(ctx.input.get("step_seconds", 0))
    fail = ctx.input.get("fail", "none")
    fail_times = int(ctx.input.get("fail_times", 1))

    def sleep_step(index: int) -> dict[str, Any]:
        deadline = time.monotonic() + step_seconds
        while time.monotonic() < deadline:
            ctx.check_abort()
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
        return {"step": index, "attempt": ctx.attempt}

    for index in range(1, steps + 1):
        ctx.step(f"step-{index}", functools.partial(sleep_step, index))
        ctx.progress(round(index * 100 / steps * 0.99), f"Step {index} of {steps}")

    if ctx.input.get("effect"):
        ctx.on_complete(lambda: DiagnosticEffect.objects.create(job_id=ctx.job_id,
                                                                attempt=ctx.attempt))
    if fail == "permanent":
        raise PermanentJobError("Diagnostic failure (permanent), as asked")
    if fail == "retryable" and ctx.attempt <= fail_times:
        raise RetryableJobError(f"Diagnostic failure on attempt {ctx.attempt}, as asked")
    return {"steps": steps, "attempt": ctx.attempt}


DIAGNOSTIC = register(
    JobType(
        name="diagnostic",
        handler=run_diagnostic,
        title="Diagnostic",
        description="Runs N durable steps of S seconds and fails as asked.",
        input_serializer=DiagnosticInput,
        poll_interval_ms=1000,
        typical_duration="a few seconds",
    )
)
