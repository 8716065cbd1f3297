"""The `diagnostic` job type's LLM probe: `llm_calls` calls (`llm_stream`: streamed)."""

from __future__ import annotations

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


@pytest.mark.parametrize("stream", [False, True])
def test_the_probe_makes_n_calls_through_the_configured_client(org, clean_queue, fake_openai,
                                                               stream):
    fake_openai.reply = "All systems nominal."
    job = create(org, steps=0, llm_calls=3, llm_stream=stream)

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
