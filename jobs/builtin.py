"""The built-in `diagnostic` job type, for tests, demos and benchmarks."""

from __future__ import annotations

import asyncio
import functools
import time
from typing import Any

from rest_framework import serializers

from jobs.aruntime import AsyncJobContext
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
    # An LLM probe: N calls through the configured client (streamed when asked).
    # (No defaults: a job that does not ask keeps the input it always had.)
    llm_calls = serializers.IntegerField(min_value=0, max_value=100, required=False)
    llm_stream = serializers.BooleanField(required=False)
    # "async": the same work as an `async def` handler on the worker's event loop.
    runtime = serializers.ChoiceField(choices=["sync", "async"], required=False)


def _llm_prompt(ctx: JobContext, index: int) -> str:
    return f"Diagnostic probe {index} of job {ctx.job_id}: answer with one short sentence."


def _probe_output(texts: list[str]) -> dict[str, Any]:
    return {"llm_calls": len(texts), "llm_chars": sum(len(t) for t in texts)}


def _llm_probe_sync(ctx: JobContext) -> dict[str, Any]:
    """`llm_calls` calls on the sync client (a streamed one on the async client, run here)."""

    from jobs.ai import llm, providers

    async def streamed(index: int) -> llm.Completion:
        try:
            return await llm.acomplete(prompt=_llm_prompt(ctx, index), purpose="diagnostic",
                                       job=ctx.job, on_text=lambda piece: None)
        finally:
            await providers.aclose_clients()

    texts = []
    for index in range(1, int(ctx.input.get("llm_calls") or 0) + 1):
        ctx.check_abort()
        if ctx.input.get("llm_stream"):
            result = asyncio.run(streamed(index))
        else:
            result = llm.complete(prompt=_llm_prompt(ctx, index), purpose="diagnostic",
                                  job=ctx.job)
        texts.append(result.text)
    return _probe_output(texts) if texts else {}


def _finish(
    ctx: JobContext | AsyncJobContext, steps: int, probe: dict[str, Any]
) -> dict[str, Any]:
    """The tail both handlers share: the effect (written with `completed`), the
    failure asked for, the output."""
    if ctx.input.get("effect"):
        ctx.on_complete(lambda: DiagnosticEffect.objects.create(job_id=ctx.job_id,
                                                                attempt=ctx.attempt))
    fail = ctx.input.get("fail", "none")
    if fail == "permanent":
        raise PermanentJobError("Diagnostic failure (permanent), as asked")
    if fail == "retryable" and ctx.attempt <= int(ctx.input.get("fail_times", 1)):
        raise RetryableJobError(f"Diagnostic failure on attempt {ctx.attempt}, as asked")
    return {"steps": steps, "attempt": ctx.attempt, **probe}


def run_diagnostic(ctx: JobContext) -> dict[str, Any]:
    steps = int(ctx.input.get("steps", 3))
    step_seconds = float(ctx.input.get("step_seconds", 0))

    def sleep_step(index: int) -> dict[str, Any]:
        deadline = time.monotonic() + step_seconds
        while time.monotonic() < deadline:
            ctx.check_abort()
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
        return {"step": index, "attempt": ctx.attempt}

    for index in range(1, steps + 1):
        ctx.step(f"step-{index}", functools.partial(sleep_step, index))
        ctx.progress(round(index * 100 / steps * 0.99), f"Step {index} of {steps}")

    return _finish(ctx, steps, _llm_probe_sync(ctx))


async def run_diagnostic_async(ctx: AsyncJobContext) -> dict[str, Any]:
    """`run_diagnostic` as an async handler (`"runtime": "async"`): same input, same output."""
    from jobs.ai import llm

    steps = int(ctx.input.get("steps", 3))
    step_seconds = float(ctx.input.get("step_seconds", 0))

    async def sleep_step(index: int) -> dict[str, Any]:
        await asyncio.sleep(step_seconds)  # the runtime cancels it on abort
        return {"step": index, "attempt": ctx.attempt}

    for index in range(1, steps + 1):
        await ctx.step(f"step-{index}", functools.partial(sleep_step, index))
        await ctx.progress(round(index * 100 / steps * 0.99), f"Step {index} of {steps}")

    texts = []
    for index in range(1, int(ctx.input.get("llm_calls") or 0) + 1):
        await ctx.check_abort()
        result = await llm.acomplete(
            prompt=_llm_prompt(ctx, index), purpose="diagnostic", job=ctx.job,
            on_text=ctx.partial_writer() if ctx.input.get("llm_stream") else None,
        )
        texts.append(result.text)
    return _finish(ctx, steps, _probe_output(texts) if texts else {})


DIAGNOSTIC = register(
    JobType(
        name="diagnostic",
        handler=run_diagnostic,
        async_handler=run_diagnostic_async,
        title="Diagnostic",
        description=(
            "Runs N durable steps of S seconds, makes `llm_calls` calls through the "
            "configured LLM client (`llm_stream`: streamed), and fails as asked."
        ),
        input_serializer=DiagnosticInput,
        poll_interval_ms=1000,
        typical_duration="a few seconds",
    )
)
