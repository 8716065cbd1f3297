"""roadmap.regenerate as an async handler: a retry never re-asks the model for a done step."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from jobs import registry
from jobs.ai.models import GenerationLog
from jobs.models import JobStep
from roadmap.models import Project, RoadmapGenerationLog
from roadmap.services import roadmap_regenerate_start
from tests.conftest import drain
from tests.roadmap.builders import scored_themes

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_regenerate_handler_is_async():
    assert inspect.iscoroutinefunction(registry.get("roadmap.regenerate").handler)


def test_a_retry_after_a_failed_call_asks_the_model_only_for_what_is_left(
        org, project: Project, fake_openai, clean_queue):
    scored_themes(org)  # four suggestions, each explained by its own step
    answered: list[str] = []

    def reply(rec: Any) -> str:
        answered.append(rec.json()["messages"][-1]["content"].splitlines()[0])
        if len(answered) == 2:
            fake_openai.fail_next(500, message="the provider broke")  # the third call fails
        return f"Reason {len(answered)}."

    fake_openai.reply = reply
    job = roadmap_regenerate_start(project=project, source="internal")

    drain()

    job.refresh_from_db()
    assert (job.status, job.attempts) == ("completed", 2), job.error
    requests = fake_openai.calls("/v1/chat/completions")
    # Two answered, one failed (attempt 1); the failed one and the last one (attempt 2).
    assert len(requests) == 5 and len(answered) == 4
    themes = [r.json()["messages"][-1]["content"].splitlines()[0] for r in requests]
    assert len(set(themes)) == 4 and themes[2] == themes[3]  # never the first two again
    steps = dict(JobStep.objects.filter(job_id=job.id, name__startswith="generate-reasoning:")
                 .values_list("name", "attempt"))
    assert sorted(steps.values()) == [1, 1, 2, 2]
    output = job.output or {}
    assert output["suggestions"] == 4 and output["reasoned"] == 4
    assert set(project.suggestions.values_list("reasoning_text", flat=True)) == {
        "Reason 1.", "Reason 2.", "Reason 3.", "Reason 4."}
    logs = GenerationLog.objects.filter(job_id=job.id, purpose="roadmap-reasoning")
    assert (logs.count(), logs.filter(success=False).count()) == (5, 1)
    # One failed run and one successful one in the roadmap's own log.
    assert sorted(RoadmapGenerationLog.objects.values_list("success", flat=True)) == [
        False, True]
