"""The warmup handlers on the async path: LLM calls awaited together, a cancel mid-call."""

from __future__ import annotations

import inspect
import time

import pytest

from jobs import lifecycle, registry
from jobs.models import Job, RunLog
from tests.conftest import job_status, wait_for
from tests.warmup.conftest import make_comparison
from tests.warmup.test_runs import insight_json
from warmup import names
from warmup.locks import WarmupLock
from warmup.models import CachedInsight

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_warmup_handlers_are_async():
    for name in (names.FORECASTS, names.AI_EXPLANATIONS, names.ON_DEMAND):
        assert inspect.iscoroutinefunction(registry.get(name).handler), name


def test_the_ai_warmup_awaits_its_calls_together_and_a_cancel_stops_it_mid_call(
        job_client, background_worker, fake_openai, settings):
    settings.LLM_TIMEOUT_SECONDS = 60.0
    calls = {"n": 0}

    def reply(_rec):
        calls["n"] += 1
        if calls["n"] > 3:  # the second round of calls hangs
            time.sleep(30)
        return insight_json()

    fake_openai.reply = reply
    for i in range(6):
        make_comparison(f"a{i}", views=20)
    background_worker(concurrency=1)  # one job slot: the three calls share it
    accepted = job_client("/api/jobs/warmup-ai-explanations", {"concurrency": 3})
    job_id = accepted.json()["jobId"]

    # Three calls answered, then three in flight at once, all on the one job's slot.
    wait_for(lambda: len(fake_openai.calls("/v1/chat/completions")) == 6, timeout=20)
    wait_for(lambda: CachedInsight.objects.count() == 3, timeout=10)
    asked = time.monotonic()
    lifecycle.job_cancel(job_id)
    wait_for(lambda: job_status(job_id) == "cancelled", timeout=10)

    assert time.monotonic() - asked < 5  # not after the 30 s calls
    assert Job.objects.get(id=job_id).status == "cancelled"
    log = wait_for(lambda: RunLog.objects.filter(job_type=names.AI_EXPLANATIONS).exclude(
        status=RunLog.Status.RUNNING).first(), timeout=5)
    assert log.status == "failed" and log.metadata.get("aborted") is True
    assert CachedInsight.objects.count() == 3
    # The run's advisory lock went with it: the next run can take it.
    lock = WarmupLock(names.AI_EXPLANATIONS_LOCK, holder="next", seconds=60)
    assert wait_for(lock.acquire, timeout=5)
    lock.release()
