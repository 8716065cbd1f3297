"""`async def` handlers through real workers on the real database (jobs/aruntime.py).

The built-in diagnostic type runs as an async handler with `"runtime": "async"`.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from jobs import aio, aruntime, lifecycle, registry, runtime
from jobs.errors import JobAbort
from jobs.models import DiagnosticEffect, Job, JobEvent, JobStep
from tests.conftest import drain, job_status, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def create(org: Any, **input: Any) -> Job:
    return lifecycle.job_create(
        job_type="diagnostic",
        input=lifecycle.job_validate_input(
            job_type="diagnostic", input={"runtime": "async", **input}),
        organization=org,
        enforce_limits=False,
    )


def test_an_async_handler_reports_progress_and_completes_like_the_sync_one(org,
                                                                           background_worker):
    job = create(org, steps=4, step_seconds=0.3, effect=True)
    background_worker()
    seen = set()

    def finished() -> bool:
        row = Job.objects.values("status", "progress").get(id=job.id)
        seen.add((row["status"], row["progress"]))
        return row["status"] == "completed"

    wait_for(finished, timeout=30, interval=0.05)
    job.refresh_from_db()
    assert job.output == {"steps": 4, "attempt": 1}
    assert {p for s, p in seen if s == "running"} & {25, 50, 74}, seen
    kinds = list(job.events.values_list("kind", flat=True))
    assert kinds == ["created", "started", "progress", "progress", "progress", "progress",
                     "completed"]
    assert DiagnosticEffect.objects.filter(job_id=job.id).count() == 1
    assert JobStep.objects.filter(job_id=job.id).count() == 4


def test_steps_are_memoized_across_a_retry(org, clean_queue):
    job = create(org, steps=3, fail="retryable", fail_times=1)

    drain()
    drain()

    job.refresh_from_db()
    assert job.status == "completed" and job.attempts == 2
    assert job.output == {"steps": 3, "attempt": 2}
    # Every step ran once, in the first attempt; the retry got them back.
    steps = JobStep.objects.filter(job_id=job.id)
    assert sorted(steps.values_list("attempt", flat=True)) == [1, 1, 1]
    assert all(s.result == {"step": int(s.name[5:]), "attempt": 1} for s in steps)


def test_a_permanent_failure_fails_at_once(org, clean_queue):
    job = create(org, steps=1, fail="permanent")

    drain()

    job.refresh_from_db()
    assert job.status == "failed" and job.attempts == 1
    assert job.error == "Diagnostic failure (permanent), as asked"


def test_a_cancel_stops_the_job_in_the_middle_of_an_llm_call(org, background_worker,
                                                            fake_openai, settings):
    settings.LLM_TIMEOUT_SECONDS = 60.0
    fake_openai.delay = 30.0  # the provider takes 30 s to answer
    job = create(org, steps=0, llm_calls=1)
    background_worker()
    wait_for(lambda: fake_openai.calls("/v1/chat/completions"), timeout=20)

    asked = time.monotonic()
    lifecycle.job_cancel(job.id)
    wait_for(lambda: job_status(job.id) == "cancelled", timeout=10)

    assert time.monotonic() - asked < 5  # not after the 30 s call
    assert JobEvent.objects.filter(job_id=job.id, kind="cancelled").count() == 1
    from jobs.ai.models import GenerationLog

    log = wait_for(lambda: GenerationLog.objects.filter(job_id=job.id).first(), timeout=5)
    assert not log.success and "Cancelled" in log.error


def test_a_job_past_its_maximum_duration_expires_mid_await(org, background_worker, settings):
    settings.JOBS = {**settings.JOBS, "DEFAULT_MAX_DURATION_SECONDS": 1}
    job = create(org, steps=1, step_seconds=60)
    background_worker()

    wait_for(lambda: job_status(job.id) == "failed", timeout=15)

    job.refresh_from_db()
    assert job.error_kind == "expired"
    assert job.error.startswith("Expired: ran longer than the 1 s allowed for diagnostic")
    assert not JobStep.objects.filter(job_id=job.id).exists()


def test_a_stale_async_attempt_changes_nothing(org, clean_queue):
    # Attempt 1 starts, then the job is rescued and attempt 2 starts: attempt 1's
    # progress, step, partial output and completion change nothing.
    job = create(org, steps=1)
    with_token = Job.objects.get(id=job.id)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("UPDATE procrastinate_jobs SET status = 'doing' WHERE id = %s",
                       [with_token.procrastinate_job_id])
    old = lifecycle.job_start(job.id, with_token.procrastinate_job_id)
    moved = lifecycle.job_rescue(job.id, token=old.procrastinate_job_id, reason="test")
    new = lifecycle.job_start(job.id, moved.procrastinate_job_id)
    assert new is not None and new.attempts == 2
    before = Job.objects.values().get(id=job.id)
    events_before = JobEvent.objects.filter(job_id=job.id).count()
    ran: list[str] = []

    async def old_attempt() -> None:
        ctx = aruntime.AsyncJobContext(old, registry.get("diagnostic"), None)
        with pytest.raises(JobAbort):
            await ctx.progress(50, "stale")
        ctx._abort_reason = None
        with pytest.raises(JobAbort):
            await ctx.step("step-1", lambda: ran.append("step"))
        ctx._abort_reason = None
        writer = ctx.partial_writer(interval=0)
        with pytest.raises(JobAbort):
            await writer("stale text")
        ctx._abort_reason = None
        assert await aio.db(runtime.finish, ctx, {"stale": True}) is None
        assert await ctx.is_current() is False

    asyncio.run(old_attempt())

    assert ran == []
    assert Job.objects.values().get(id=job.id) == before
    assert JobEvent.objects.filter(job_id=job.id).count() == events_before
    assert not JobStep.objects.filter(job_id=job.id).exists()


def test_streamed_tokens_reach_polling_clients_before_completion(org, background_worker,
                                                                fake_openai, api, settings):
    settings.JOBS = {**settings.JOBS, "PARTIAL_OUTPUT_SECONDS": 0.7}
    text = "Self-serve onboarding is where the market moved this quarter; " * 4
    fake_openai.reply = text
    settings.LLM_TIMEOUT_SECONDS = 20.0
    fake_openai.delay, fake_openai.stream_chunks = 3.0, 10
    job = create(org, steps=0, llm_calls=1, llm_stream=True)
    background_worker()
    partials: list[str] = []

    def finished() -> bool:
        body = api.get(f"/api/jobs/{job.id}").json()
        if body["status"] == "running" and body["partial_output"]:
            partials.append(body["partial_output"])
        return body["status"] == "completed"

    wait_for(finished, timeout=30, interval=0.05)

    assert partials, "no partial output seen while the job ran"
    assert all(text.startswith(p) for p in partials)
    assert any(len(p) < len(text) for p in partials)  # seen before the model had finished
    assert len(set(partials)) >= 2  # it grew while the model wrote
    job.refresh_from_db()
    assert job.output == {"steps": 0, "attempt": 1, "llm_calls": 1, "llm_chars": len(text)}
    # Coalesced: 10 pieces, one every 0.3 s, and at most one write per 0.7 s: about
    # 5, never one per piece. (An interval equal to the pieces' spacing let every
    # piece through on a slow machine: 10 writes, within the rule but not a test of it.)
    writes = JobEvent.objects.filter(job_id=job.id, kind="output").count()
    assert 2 <= writes <= 6


def test_many_async_jobs_run_at_once_on_few_connections(org, background_worker, fake_openai,
                                                       settings):
    settings.LLM_REQUESTS_PER_SECOND = 10000.0
    settings.LLM_TIMEOUT_SECONDS = 20.0
    fake_openai.delay = 2.0
    jobs = [create(org, steps=0, llm_calls=1) for _ in range(60)]
    started = time.monotonic()
    background_worker(concurrency=60)

    wait_for(lambda: Job.objects.filter(id__in=[j.id for j in jobs], status="completed")
             .count() == 60, timeout=60, interval=0.1)

    took = time.monotonic() - started
    arrivals = fake_openai.times("/v1/chat/completions")
    assert arrivals[-1] - arrivals[0] < 3.0, "the calls did not wait together"
    assert took < 15, took
    assert aio.executor()._max_workers == settings.WORKER_DB_CONNECTIONS
