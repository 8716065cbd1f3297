"""The async LLM client (`acomplete`, `astream`) against both providers' wire fakes.

The real SDKs' async clients (AsyncOpenAI, AsyncAnthropic) talk to the fakes
over HTTP; database writes (limiter, generation log) go through `jobs.aio`'s
pool, so these tests use committed (transactional) databases.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from django.utils import timezone

from jobs.ai import llm
from jobs.ai.models import GenerationLog, RateLimitBucket
from jobs.errors import AuthError, ParseError, RateLimitedError, RetryableJobError
from tests.fakes.server import Scripted

pytestmark = pytest.mark.django_db(transaction=True)

SCHEMA = {
    "type": "object",
    "properties": {"summary": {"type": "string"}, "score": {"type": "number"}},
    "required": ["summary", "score"],
}


@pytest.fixture(params=["fake_openai", "fake_anthropic"])
def provider(request):
    fake = request.getfixturevalue(request.param)
    fake.kind = "openai" if request.param == "fake_openai" else "anthropic"
    return fake


def path(fake) -> str:
    return "/v1/chat/completions" if fake.kind == "openai" else "/v1/messages"


def test_a_json_answer_is_parsed_validated_and_logged(provider):
    provider.reply = json.dumps({"summary": "fine", "score": 0.9})

    result = asyncio.run(llm.acomplete(prompt="Rate this", schema=SCHEMA, purpose="rating"))

    assert result.data == {"summary": "fine", "score": 0.9}
    assert result.provider == provider.kind and not result.offline
    assert provider.calls(path(provider))[0].json().get("stream") in (None, False)
    log = GenerationLog.objects.get()
    expected = (11, 7) if provider.kind == "openai" else (13, 5)
    assert (log.prompt_tokens, log.completion_tokens) == expected
    assert log.success and log.purpose == "rating" and log.provider == provider.kind


def test_a_streamed_answer_arrives_piece_by_piece_and_is_logged_once(provider):
    provider.reply = "The market moved toward self-serve onboarding this quarter."
    provider.delay, provider.stream_chunks = 1.0, 5
    seen: list[tuple[float, str]] = []

    async def main():
        return await llm.acomplete(
            prompt="Write", purpose="stream",
            on_text=lambda piece: seen.append((time.monotonic(), piece)),
        )

    result = asyncio.run(main())

    assert result.text == provider.reply
    assert "".join(p for _, p in seen) == provider.reply
    assert len(seen) == 5
    # The pieces arrived while the provider was still writing, not all at the end.
    assert seen[-1][0] - seen[0][0] > 0.5
    assert provider.calls(path(provider))[0].json()["stream"] is True
    log = GenerationLog.objects.get()
    assert log.success and log.completion_tokens == 5 and log.prompt_tokens in (11, 13)


def test_astream_yields_the_text_and_a_json_schema_still_applies(provider):
    provider.reply = json.dumps({"summary": "streamed", "score": 0.5})
    provider.stream_chunks = 4

    async def main():
        return [piece async for piece in llm.astream(prompt="x", schema=SCHEMA)]

    pieces = asyncio.run(main())

    assert len(pieces) == 4 and json.loads("".join(pieces))["summary"] == "streamed"
    assert GenerationLog.objects.get().success


def test_a_streamed_answer_that_is_not_the_json_asked_for_is_a_parse_error(provider):
    provider.reply = "not json at all"

    with pytest.raises(ParseError):
        asyncio.run(llm.acomplete(prompt="x", schema=SCHEMA, on_text=lambda piece: None))
    assert GenerationLog.objects.get().error_kind == "parse"


@pytest.mark.parametrize("stream", [False, True])
def test_429_carries_retry_after_and_pushes_the_shared_budget_back(provider, stream):
    provider.fail_next(429, retry_after=7)

    with pytest.raises(RateLimitedError) as caught:
        asyncio.run(llm.acomplete(prompt="x", purpose="limited",
                                  on_text=(lambda p: None) if stream else None))

    assert caught.value.retry_after == 7.0
    bucket = RateLimitBucket.objects.get(key=f"llm:{provider.kind}")
    assert (bucket.next_slot_at - timezone.now()).total_seconds() > 5
    log = GenerationLog.objects.get(purpose="limited")
    assert log.error_kind == "rate_limited" and not log.success


@pytest.mark.parametrize("stream", [False, True])
def test_a_500_is_retryable(provider, stream):
    provider.fail_next(500)

    with pytest.raises(RetryableJobError, match="500"):
        asyncio.run(llm.acomplete(prompt="x", on_text=(lambda p: None) if stream else None))


@pytest.mark.parametrize("stream", [False, True])
def test_a_hanging_provider_is_a_retryable_timeout(provider, settings, stream):
    settings.LLM_TIMEOUT_SECONDS = 0.3
    provider.enqueue(Scripted(delay=1.5, body={}))

    with pytest.raises(RetryableJobError, match="timed out"):
        asyncio.run(llm.acomplete(prompt="x", on_text=(lambda p: None) if stream else None))
    assert GenerationLog.objects.get().error_kind == "retryable"


def test_a_body_that_is_not_json_is_retryable(provider):
    provider.invalid_json_next()

    with pytest.raises(RetryableJobError):
        asyncio.run(llm.acomplete(prompt="x"))


def test_a_broken_stream_is_retryable(provider):
    provider.enqueue(Scripted(chunks=[b"data: {not json\n\n", b"event: x\ndata: {oops\n\n"]))

    with pytest.raises(RetryableJobError):
        asyncio.run(llm.acomplete(prompt="x", on_text=lambda p: None))


def test_a_refused_key_is_an_auth_error(provider, settings):
    settings.OPENAI_API_KEY = settings.ANTHROPIC_API_KEY = "wrong"

    with pytest.raises(AuthError):
        asyncio.run(llm.acomplete(prompt="x"))


def test_many_calls_wait_together_on_few_connections(fake_openai, settings):
    # 40 calls of 1 s each: together about 1 s, not 40 (no thread per call), and
    # the database writes share the worker's small pool.
    fake_openai.delay = 1.0
    settings.LLM_REQUESTS_PER_SECOND = 10000.0

    async def main():
        return await asyncio.gather(*[llm.acomplete(prompt=f"call {i}") for i in range(40)])

    started = time.monotonic()
    results = asyncio.run(main())
    took = time.monotonic() - started

    assert len(results) == 40 and took < 5, took
    assert GenerationLog.objects.filter(success=True).count() == 40
    arrivals = fake_openai.times("/v1/chat/completions")
    assert arrivals[-1] - arrivals[0] < 2.0  # all in flight together
