"""The LLM client against wire-level fakes of OpenAI and Anthropic, and offline."""

from __future__ import annotations

import json
from typing import Any

import pytest

from jobs import lifecycle, registry
from jobs.ai import llm
from jobs.ai.errors import retry_after_seconds
from jobs.ai.models import GenerationLog, RateLimitBucket
from jobs.errors import AuthError, ParseError, RateLimitedError, RetryableJobError
from jobs.models import Job
from tests.fakes.server import Scripted, anthropic_error, openai_error

SCHEMA = {
    "type": "object",
    "properties": {
        "summary": {"type": "string"},
        "score": {"type": "number", "minimum": 0, "maximum": 1},
    },
    "required": ["summary", "score"],
}


@pytest.fixture
def offline(settings):
    settings.LLM_PROVIDER = "auto"
    settings.OPENAI_API_KEY = ""
    settings.ANTHROPIC_API_KEY = ""


@pytest.mark.django_db
def test_with_no_key_the_offline_provider_answers_and_says_so(offline):
    prompt = "Users say onboarding is slow. Onboarding emails arrive late. Pricing is unclear."

    first = llm.complete(prompt=prompt, schema=SCHEMA, purpose="test")
    second = llm.complete(prompt=prompt, schema=SCHEMA, purpose="test")
    text = llm.complete(prompt=prompt)

    assert first.provider == "offline" and first.offline
    assert first.data == second.data
    assert first.data["offline"] is True
    assert first.data["summary"].startswith("[offline] ")
    assert 0 <= first.data["score"] <= 1
    assert text.text.startswith("[offline] ") and "onboarding" in text.text
    assert GenerationLog.objects.filter(provider="offline", success=True).count() == 3


@pytest.mark.django_db
def test_the_offline_provider_uses_the_callers_builder(offline):
    def build(prompt: str) -> dict[str, Any]:
        return {"summary": prompt.upper()[:10], "score": 0.5}

    result = llm.complete(prompt="pricing page", schema=SCHEMA, offline=build)

    assert result.data == {"summary": "PRICING PA", "score": 0.5, "offline": True}


@pytest.mark.django_db
def test_openai_json_answer_is_parsed_validated_and_logged(fake_openai):
    fake_openai.reply = json.dumps({"summary": "fine", "score": 0.9})

    result = llm.complete(prompt="Rate this", schema=SCHEMA, purpose="rating")

    assert result.data == {"summary": "fine", "score": 0.9}
    assert result.provider == "openai" and not result.offline
    request = fake_openai.calls("/v1/chat/completions")[0]
    assert request.headers["authorization"] == "Bearer sk-test"
    assert request.json()["response_format"] == {"type": "json_object"}
    log = GenerationLog.objects.get()
    assert (log.prompt_tokens, log.completion_tokens, log.success) == (11, 7, True)
    assert log.purpose == "rating" and log.provider == "openai"


@pytest.mark.django_db
def test_anthropic_answer_with_code_fences_is_parsed(fake_anthropic):
    fake_anthropic.reply = '```json\n{"summary": "ok", "score": 0.1}\n```'

    result = llm.complete(prompt="Rate this", schema=SCHEMA, system="Be brief")

    assert result.data == {"summary": "ok", "score": 0.1}
    body = fake_anthropic.calls("/v1/messages")[0].json()
    assert body["system"].startswith("Be brief")
    headers = fake_anthropic.calls()[0].headers
    assert "sk-ant-test" in (headers.get("x-api-key", "") + headers.get("authorization", ""))


@pytest.fixture(params=["fake_openai", "fake_anthropic"])
def provider(request):
    """Each provider's wire-level fake, with the settings that point the client at it."""
    return request.getfixturevalue(request.param)


@pytest.mark.django_db
def test_json_that_does_not_match_the_schema_is_a_parse_error(provider):
    provider.reply = json.dumps({"summary": "no score"})

    with pytest.raises(ParseError, match="does not match the schema"):
        llm.complete(prompt="x", schema=SCHEMA)
    assert GenerationLog.objects.get().error_kind == "parse"


@pytest.mark.django_db
def test_anthropic_without_a_key_fails_with_the_seeds_message(settings):
    settings.LLM_PROVIDER = "anthropic"
    settings.ANTHROPIC_API_KEY = ""

    with pytest.raises(AuthError, match="^No Anthropic API key configured$"):
        llm.complete(prompt="x")


@pytest.mark.django_db
def test_401_is_an_auth_error(fake_anthropic):
    fake_anthropic.enqueue(anthropic_error(401, "authentication_error", "invalid x-api-key"))

    with pytest.raises(AuthError):
        llm.complete(prompt="x")


@pytest.mark.django_db
def test_a_hanging_provider_is_a_retryable_timeout(provider, settings):
    settings.LLM_TIMEOUT_SECONDS = 0.3
    provider.enqueue(Scripted(delay=1.5, body={}))

    with pytest.raises(RetryableJobError, match="timed out"):
        llm.complete(prompt="x")


@pytest.mark.django_db
def test_a_429_pushes_the_shared_budget_back_by_retry_after(fake_openai):
    fake_openai.enqueue(openai_error(429, "slow down", {"retry-after": "7"}))

    with pytest.raises(Exception) as caught:
        llm.complete(prompt="x")

    assert caught.value.retry_after == 7.0
    bucket = RateLimitBucket.objects.get(key="llm:openai")
    from django.utils import timezone

    assert (bucket.next_slot_at - timezone.now()).total_seconds() > 5


@pytest.mark.django_db
def test_openai_without_a_key_fails_at_once_without_spending_a_slot(settings):
    settings.LLM_PROVIDER = "openai"
    settings.OPENAI_API_KEY = ""

    with pytest.raises(AuthError, match="^No OpenAI API key configured$"):
        llm.complete(prompt="x", purpose="no-key")

    assert not RateLimitBucket.objects.exists()
    assert GenerationLog.objects.get(purpose="no-key").error_kind == "auth"


@pytest.mark.django_db
def test_a_key_the_provider_refuses_is_an_auth_error(fake_openai, settings):
    settings.OPENAI_API_KEY = "sk-wrong"

    with pytest.raises(AuthError, match="refused the API key \\(401\\)"):
        llm.complete(prompt="x")
    assert fake_openai.calls()[0].headers["authorization"] == "Bearer sk-wrong"


@pytest.mark.django_db
def test_403_is_an_auth_error(fake_openai):
    fake_openai.fail_next(403, message="not allowed for this project")

    with pytest.raises(AuthError, match="403"):
        llm.complete(prompt="x")


@pytest.mark.django_db
def test_anthropic_429_carries_its_retry_after(fake_anthropic):
    fake_anthropic.fail_next(429, retry_after=2)

    with pytest.raises(RateLimitedError) as caught:
        llm.complete(prompt="x", purpose="limited")

    assert caught.value.retry_after == 2.0
    log = GenerationLog.objects.get(purpose="limited")
    assert log.error_kind == "rate_limited" and not log.success
    assert log.limiter_key == "llm:anthropic"


@pytest.mark.django_db
@pytest.mark.parametrize("status", [500, 503, 529])
def test_server_errors_are_retryable(fake_anthropic, status):
    fake_anthropic.fail_next(status)

    with pytest.raises(RetryableJobError, match=str(status)):
        llm.complete(prompt="x")


@pytest.mark.django_db
def test_a_body_that_is_not_json_is_retryable(fake_openai):
    fake_openai.invalid_json_next()

    with pytest.raises(RetryableJobError):
        llm.complete(prompt="x")


@pytest.mark.django_db
def test_a_refused_connection_is_retryable(fake_openai, settings):
    fake_openai.stop()

    with pytest.raises(RetryableJobError, match="connection error"):
        llm.complete(prompt="x")


def test_retry_after_in_seconds_milliseconds_or_an_http_date():
    import datetime as dt
    from email.utils import format_datetime

    class Response:
        def __init__(self, **headers: str) -> None:
            self.headers = headers

    later = format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30), usegmt=True)
    assert retry_after_seconds(Response(**{"retry-after": "7"})) == 7.0
    assert retry_after_seconds(Response(**{"retry-after-ms": "1500"})) == 1.5
    assert 28 <= retry_after_seconds(Response(**{"retry-after": later})) <= 30
    assert retry_after_seconds(Response(**{"retry-after": "soon"})) is None
    assert retry_after_seconds(Response()) is None


# --- through a real worker: the platform's retry policy applied to provider errors ----


def _ask(ctx: Any) -> dict[str, Any]:
    result = llm.complete(prompt="Rate this", schema=SCHEMA, job=ctx.job, purpose="test")
    return {"data": result.data}


registry.register(registry.JobType(name="test_llm_ask", handler=_ask, public=False))


def _run(org: Any) -> Job:
    from tests.conftest import drain

    job = lifecycle.job_create(job_type="test_llm_ask", input={}, organization=org)
    drain()
    job.refresh_from_db()
    return job


@pytest.mark.django_db(transaction=True)
def test_429_with_retry_after_then_success(fake_openai, org, background_worker):
    from tests.conftest import job_status, wait_for

    fake_openai.reply = json.dumps({"summary": "ok", "score": 0.5})
    fake_openai.enqueue(openai_error(429, "slow down", {"retry-after": "1"}))
    job = lifecycle.job_create(job_type="test_llm_ask", input={}, organization=org)
    background_worker()

    wait_for(lambda: job_status(job.id) in ("completed", "failed"), timeout=20)

    job.refresh_from_db()
    assert job.status == "completed" and job.attempts == 2
    retry = job.events.get(kind="retry_scheduled")
    assert retry.data["error_kind"] == "rate_limited"
    calls = fake_openai.calls("/v1/chat/completions")
    assert len(calls) == 2 and calls[1].at - calls[0].at >= 0.95
    assert GenerationLog.objects.filter(job=job).count() == 2


@pytest.mark.django_db(transaction=True)
def test_401_fails_the_job_at_once(fake_openai, org, clean_queue):
    fake_openai.enqueue(openai_error(401, "bad key"))

    job = _run(org)

    assert job.status == "failed" and job.attempts == 1 and job.error_kind == "auth"
    assert len(fake_openai.calls("/v1/chat/completions")) == 1


@pytest.mark.django_db(transaction=True)
def test_invalid_json_is_retried_once_then_fails_with_the_parse_error(provider, org,
                                                                     clean_queue):
    provider.reply = "Sure! Here is your answer: summary=ok"

    job = _run(org)

    assert job.status == "failed" and job.attempts == 2 and job.error_kind == "parse"
    assert "Failed after 1 retries: The model did not return valid JSON" in job.error
    assert len(provider.calls()) == 2


@pytest.mark.django_db(transaction=True)
def test_a_5xx_is_retried_and_then_succeeds(fake_anthropic, org, clean_queue):
    fake_anthropic.reply = json.dumps({"summary": "ok", "score": 0.2})
    fake_anthropic.enqueue(anthropic_error(500, "api_error", "boom"))

    job = _run(org)

    assert job.status == "completed" and job.attempts == 2


def _flaky_timeout(ctx: Any) -> dict[str, Any]:
    return {"text": llm.complete(prompt="slow", job=ctx.job).text}


registry.register(registry.JobType(name="test_llm_timeout", handler=_flaky_timeout, public=False))


@pytest.mark.django_db(transaction=True)
def test_a_timeout_is_retried_and_then_succeeds(provider, org, clean_queue, settings):
    settings.LLM_TIMEOUT_SECONDS = 0.3
    provider.reply = "fine"
    provider.hang_next(1.0)
    job = lifecycle.job_create(job_type="test_llm_timeout", input={}, organization=org)

    drain_and_refresh = _drain(job)

    assert drain_and_refresh.status == "completed" and drain_and_refresh.attempts == 2
    assert drain_and_refresh.output == {"text": "fine"}
    assert job.events.get(kind="retry_scheduled").data["error_kind"] == "retryable"
    logs = list(GenerationLog.objects.filter(job=job).order_by("id"))
    assert [log.success for log in logs] == [False, True] and "timed out" in logs[0].error


def _drain(job: Job) -> Job:
    from tests.conftest import drain

    drain()
    job.refresh_from_db()
    return job
