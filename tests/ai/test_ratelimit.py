"""The Postgres rate limiter: one budget per key, shared by threads and processes."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jobs import lifecycle, registry
from jobs.ai import llm, ratelimit
from jobs.ai.models import GenerationLog, RateLimitBucket
from jobs.errors import RateLimitedError
from tests.conftest import job_status, subprocess_env, wait_for
from tests.fakes.fixtures import OPENAI_KEY

BASE_DIR = Path(__file__).resolve().parents[2]


def _gaps(times: list[float]) -> list[float]:
    times = sorted(times)
    return [b - a for a, b in zip(times, times[1:], strict=False)]


def _assert_rate(times: list[float], *, per_second: float) -> None:
    """At most `per_second` + 1 requests in any one-second window (one late request may
    arrive with the next: the slots are spaced, a busy machine's scheduling is not), and
    the whole run no shorter than its slots. Without the limiter they all land at once."""
    times = sorted(times)
    busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert busiest <= per_second + 1, (busiest, _gaps(times))
    assert times[-1] - times[0] >= (len(times) - 1) / per_second - 0.15, _gaps(times)


def _warm_up() -> None:
    """One call first: the SDK's first request in a process builds its models and opens a
    connection (tens of ms, far more on a busy machine), which would bunch the first
    measured requests; long-lived workers paid that long before."""
    llm.complete(prompt="warm-up", limiter_key="warm-up")


def _measured(fake: Any) -> list[float]:
    return sorted(c.at for c in fake.calls("/v1/chat/completions")
                  if c.json()["messages"][-1]["content"] != "warm-up")


@pytest.mark.django_db
def test_slots_are_handed_out_per_over_rate_apart():
    waits = [ratelimit.reserve("spacing", rate=4, per=1.0) for _ in range(4)]

    assert waits[0] == pytest.approx(0.0, abs=0.05)
    # Each slot is 0.25 s after the previous one (less the time spent reserving).
    assert all(0.2 <= b - a <= 0.26 for a, b in zip(waits, waits[1:], strict=False)), waits


@pytest.mark.django_db
def test_a_waiting_caller_makes_one_query_and_sleeps_until_its_slot():
    ratelimit.reserve("sleepy", rate=1, per=0.4)  # takes the slot now; the next is 0.4 s away

    with CaptureQueriesContext(connection) as queries:
        started = time.monotonic()
        waited = ratelimit.acquire("sleepy", rate=1, per=0.4)
        elapsed = time.monotonic() - started

    assert len(queries) == 1
    assert 0.3 <= waited <= 0.41 and elapsed >= waited


@pytest.mark.django_db
def test_a_wait_past_the_maximum_reserves_nothing_and_asks_for_a_retry_later():
    ratelimit.acquire("slow", rate=1, per=10.0)
    before = RateLimitBucket.objects.get(key="slow").next_slot_at

    with pytest.raises(RateLimitedError) as caught:
        ratelimit.acquire("slow", rate=1, per=10.0, max_wait=1.0)

    assert 9.0 <= caught.value.retry_after <= 10.0
    assert RateLimitBucket.objects.get(key="slow").next_slot_at == before


@pytest.mark.django_db
def test_push_back_delays_the_next_slot_for_everyone():
    ratelimit.push_back("pushed", 0.5)

    waited = ratelimit.acquire("pushed", rate=100)

    assert 0.4 <= waited <= 0.5


@pytest.mark.django_db
def test_token_budget_spends_a_minute_at_once_then_refills_and_settles():
    # 600 tokens a minute: one token is 0.1 s of budget; one minute may go at once.
    assert ratelimit.reserve_tokens("tpm", tokens=600, per_minute=600) == 0.0
    wait = ratelimit.reserve_tokens("tpm", tokens=10, per_minute=600)
    assert wait == pytest.approx(1.0, abs=0.05)

    # The first call used 100 tokens, not 600: 50 s of budget come back.
    ratelimit.settle_tokens("tpm", reserved=600, actual=100, per_minute=600)

    assert ratelimit.reserve_tokens("tpm", tokens=10, per_minute=600) == 0.0


# --- through llm.complete and a fake provider ----------------------------------------


@pytest.mark.django_db
def test_a_429_on_a_callers_key_pushes_back_the_providers_budget_too(fake_openai):
    fake_openai.fail_next(429, retry_after=3)

    with pytest.raises(RateLimitedError) as caught:
        llm.complete(prompt="x", limiter_key="roadmap-reasoning")

    assert caught.value.retry_after == 3.0
    slots = dict(RateLimitBucket.objects.values_list("key", "next_slot_at"))
    from django.utils import timezone

    for key in ("roadmap-reasoning", "llm:openai"):
        assert (slots[key] - timezone.now()).total_seconds() > 2, key


@pytest.mark.django_db
def test_tokens_per_minute_are_reserved_before_and_settled_after_a_call(fake_openai, settings):
    settings.LLM_TOKENS_PER_MINUTE = {"openai": 600}  # 0.1 s of budget per token
    settings.LLM_RATE_LIMIT_MAX_WAIT_SECONDS = 5
    fake_openai.reply = "ok"

    # Reserves ~591 tokens (59 s of the 60 s burst); the answer used 18 (11 + 7).
    llm.complete(prompt="hi", max_tokens=590)
    second = llm.complete(prompt="hi", max_tokens=590)

    # Settled at 18 tokens, the budget is 1.8 s in use: the second call waits the
    # rest of 1.8 + 59.1 - 60 s. Unsettled, it would wait 58 s (past the maximum).
    first_log, second_log = GenerationLog.objects.order_by("id")
    assert first_log.wait_ms == 0 and 0 < second_log.wait_ms <= 950
    gap = _gaps(fake_openai.times("/v1/chat/completions"))[0]
    assert gap >= 0.5 and second.text == "ok"


@pytest.mark.django_db
def test_a_call_refused_for_a_long_wait_leaves_the_token_budget_as_it_was(fake_openai, settings):
    settings.LLM_TOKENS_PER_MINUTE = {"openai": 600}
    settings.LLM_RATE_LIMIT_MAX_WAIT_SECONDS = 5
    ratelimit.reserve_tokens("openai", tokens=1200, per_minute=600)  # a minute ahead
    before = RateLimitBucket.objects.get(key="tokens:openai").next_slot_at

    with pytest.raises(RateLimitedError) as caught:
        llm.complete(prompt="hi", max_tokens=10)

    assert caught.value.retry_after > 5
    assert RateLimitBucket.objects.get(key="tokens:openai").next_slot_at == before
    assert fake_openai.calls() == []


# --- across threads and processes, measured at the fake server ------------------------


@pytest.mark.django_db(transaction=True)
def test_threads_share_one_budget(fake_openai, settings):
    settings.LLM_RATE_LIMITS = {"threads": 5.0}
    _warm_up()
    errors: list[BaseException] = []

    def caller() -> None:
        try:
            for _ in range(2):
                llm.complete(prompt="t", limiter_key="threads")
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=caller) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)

    assert not errors
    times = _measured(fake_openai)
    assert len(times) == 8
    # 5 a second: slots 0.2 s apart.
    _assert_rate(times, per_second=5)


def _client_process(calls: int, key: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.ai.limiter_client", str(calls), key],
        cwd=BASE_DIR, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )


@pytest.mark.django_db(transaction=True)
def test_separate_processes_share_one_budget(fake_openai):
    env = subprocess_env(
        LLM_PROVIDER="openai", OPENAI_API_KEY=OPENAI_KEY, OPENAI_BASE_URL=f"{fake_openai.url}/v1",
        LLM_RATE_LIMITS="procs=5", LLM_REQUESTS_PER_SECOND="1000",
    )
    procs = [_client_process(4, "procs", env) for _ in range(2)]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        for proc in procs:  # all at once: they contend for the same slots
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        for proc in procs:
            assert proc.wait(30) == 0
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()

    calls = [c for c in fake_openai.calls("/v1/chat/completions")
             if c.json()["messages"][-1]["content"] != "warm-up"]
    times = sorted(c.at for c in calls)
    assert len(times) == 8 and len({c.json()["messages"][-1]["content"] for c in calls}) == 2
    # 5 a second across both processes.
    _assert_rate(times, per_second=5)
    assert GenerationLog.objects.filter(purpose="limiter-test", success=True).count() == 8


def _ask_limited(ctx: Any) -> dict[str, Any]:
    result = llm.complete(prompt="reason", limiter_key="test-limit", job=ctx.job)
    return {"text": result.text}


registry.register(registry.JobType(name="test_limited", handler=_ask_limited, public=False))


@pytest.mark.django_db(transaction=True)
def test_jobs_on_two_workers_share_one_budget(org, background_worker, fake_openai, settings):
    settings.LLM_RATE_LIMITS = {"test-limit": 5.0}
    fake_openai.reply = "fine"
    _warm_up()
    jobs = [lifecycle.job_create(job_type="test_limited", input={}, organization=None)
            for _ in range(8)]
    for _ in range(2):  # two workers, each running up to three jobs at once
        background_worker(concurrency=3)

    wait_for(lambda: all(job_status(j.id) == "completed" for j in jobs), timeout=30)

    times = _measured(fake_openai)
    assert len(times) == 8
    # 5 a second across both workers.
    _assert_rate(times, per_second=5)
    assert sum(GenerationLog.objects.filter(limiter_key="test-limit")
               .values_list("wait_ms", flat=True)) > 0
