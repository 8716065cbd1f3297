"""The `diagnostic` job type's LLM probe: `llm_calls` calls (`llm_stream`: streamed)."""

from __future__ import annotations

import asyncio

import pytest

from jobs import lifecycle
from jobs.ai.models import GenerationLog
from jobs.models import Job, Organization
from tests.conftest import drain

pytestmark = pytest.mark.django_db(transaction=True)


def create(org: Organization, **input: object) -> Job:
    return lifecycle.job_create(
        job_type="diagnostic",
        input=lifecycle.job_validate_input(job_type="diagnostic", input=input),
        organization=org,
    )


@pytest.mark.parametrize("runtime", ["sync", "async"])
@pytest.mark.parametrize("stream", [False, True])
def test_the_probe_makes_n_calls_through_the_configured_client(org, clean_queue, fake_openai,
                                                               stream, runtime):
    fake_openai.reply = "All systems nominal."
    job = create(org, steps=0, llm_calls=3, llm_stream=stream, runtime=runtime)

    drain()

    job.refresh_from_db()
    assert job.status == "completed", job.error
    assert job.output == {"steps": 0, "attempt": 1, "llm_calls": 3,
                          "llm_chars": 3 * len("All systems nominal.")}
    calls = fake_openai.calls("/v1/chat/completions")
    assert len(calls) == 3
    assert all(bool(c.json().get("stream")) is stream for c in calls)
    assert str(job.id) in calls[0].json()["messages"][-1]["content"]
    logs = GenerationLog.objects.filter(job_id=job.id, purpose="diagnostic", success=True)
    assert logs.count() == 3
    for log in logs:
        assert log.provider == "openai" and log.model and log.limiter_key == "llm:openai"
        assert log.prompt_tokens > 0 and log.completion_tokens > 0 and not log.error
        assert job.started_at <= log.created_at <= job.completed_at


def test_a_429_from_the_probe_retries_the_job_after_retry_after(org, clean_queue, fake_anthropic):
    fake_anthropic.fail_next(429, retry_after=0)
    job = create(org, steps=0, llm_calls=1)

    drain()
    drain()  # the retry, due at once (Retry-After 0, back-off base 0 in tests)

    job.refresh_from_db()
    assert job.status == "completed" and job.attempts == 2
    assert job.output["llm_calls"] == 1


def test_without_llm_calls_the_output_is_unchanged(org, clean_queue):
    job = create(org, steps=1)

    drain()

    job.refresh_from_db()
    assert job.output == {"steps": 1, "attempt": 1}


def test_an_async_jobs_logs_are_written_when_it_fails_after_its_calls(org, clean_queue,
                                                                      fake_openai):
    # The calls' logs wait for the job's next write: here its failure.
    job = create(org, steps=0, llm_calls=2, fail="permanent", runtime="async")

    drain()

    job.refresh_from_db()
    assert job.status == "failed", job.status
    logs = GenerationLog.objects.filter(job_id=job.id, purpose="diagnostic")
    assert [log.success for log in logs] == [True, True]


def test_an_async_handlers_log_is_written_with_the_jobs_next_write(org, clean_queue,
                                                                   fake_openai, settings):
    from django.db import connection

    from jobs import aio, aruntime, registry
    from jobs.ai import llm

    job = create(org, steps=0)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE procrastinate_jobs SET status = 'doing' WHERE id = %s",
                       [job.procrastinate_job_id])
    started = lifecycle.job_start(job.id, job.procrastinate_job_id)
    ctx = aruntime.AsyncJobContext(started, registry.get("diagnostic"), None)

    def logged() -> int:
        return GenerationLog.objects.filter(job_id=job.id).count()

    async def attempt() -> list[int]:
        seen = []
        with llm.collect_logs(ctx.llm_logs):
            await llm.acomplete(prompt="one", purpose="deferred", job=ctx.job)
            seen.append(await aio.db(logged))
            await ctx.progress(10, "after the call")
            seen.append(await aio.db(logged))
            # A call that settles a tokens-per-minute reservation writes at once.
            settings.LLM_TOKENS_PER_MINUTE = {"openai": 1_000_000}
            await llm.acomplete(prompt="two", purpose="settled", job=ctx.job)
            seen.append(await aio.db(logged))
        return seen

    assert asyncio.run(attempt()) == [0, 1, 2]
    assert Job.objects.get(id=job.id).progress == 10
