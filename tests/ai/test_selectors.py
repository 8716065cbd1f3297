"""The roadmap seed's monitoring query, answered from the generation log."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from jobs import lifecycle, registry
from jobs.ai import llm
from jobs.ai.models import GenerationLog
from jobs.ai.selectors import generation_stats

registry.register(registry.JobType(name="test_stats_job", handler=lambda ctx: None, public=False))


def _log(days_ago: int, *, success: bool = True, tokens: int = 10, ms: int = 100,
         job=None, purpose: str = "roadmap-reasoning") -> GenerationLog:
    log = GenerationLog.objects.create(provider="openai", purpose=purpose, success=success,
                                       prompt_tokens=tokens, completion_tokens=tokens,
                                       duration_ms=ms, job=job)
    # created_at is auto_now_add: move it back by hand.
    at = timezone.now().replace(hour=12) - dt.timedelta(days=days_ago)
    GenerationLog.objects.filter(id=log.id).update(created_at=at)
    return log


@pytest.mark.django_db
def test_runs_average_time_tokens_and_successes_per_day_over_30_days(org):
    job = lifecycle.job_create(job_type="test_stats_job", input={}, organization=org)
    _log(1, ms=100, job=job)
    _log(1, ms=300, success=False, job=job)
    _log(3, tokens=50)
    _log(31)  # outside the window
    _log(1, purpose="theme-scan")

    rows = generation_stats(days=30, purpose="roadmap-reasoning")

    today = timezone.now().astimezone(dt.UTC).replace(hour=12).date()
    assert [r["date"] for r in rows] == [today - dt.timedelta(days=1), today - dt.timedelta(days=3)]
    assert rows[0] | {"date": None} == {"date": None, "runs": 2, "jobs": 1, "avg_time_ms": 200,
                                        "total_tokens": 40, "successful_runs": 1}
    assert rows[1]["runs"] == 1 and rows[1]["total_tokens"] == 100 and rows[1]["jobs"] == 0
    assert len(generation_stats(days=30)) == 2  # both purposes, same two days
    assert generation_stats(days=30, job_type="test_stats_job")[0]["runs"] == 2


@pytest.mark.django_db
def test_every_call_is_counted_with_its_tokens(settings):
    settings.LLM_PROVIDER = "offline"
    for _ in range(3):
        llm.complete(prompt="a b c d e f", purpose="counted")

    (row,) = generation_stats(purpose="counted")

    assert row["runs"] == 3 and row["successful_runs"] == 3
    assert row["total_tokens"] == sum(g.total_tokens for g in GenerationLog.objects.all()) > 0
