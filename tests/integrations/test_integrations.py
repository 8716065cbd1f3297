"""Slack and Jira effects from a job: once across a retry, and off when unconfigured."""

from __future__ import annotations

from typing import Any

import pytest

from jobs import lifecycle, registry
from jobs.errors import RetryableJobError
from jobs.integrations import jira, slack
from jobs.integrations.models import SentEffect
from tests.conftest import drain


def _notify_then_fail_once(ctx: Any) -> dict[str, Any]:
    ts = slack.post_message(channel="#roadmap", text="🚨 2 new critical roadmap items detected!",
                            idempotency_key=f"slack:{ctx.job_id}")
    key = jira.create_issue(project_key="PLAT", summary="Pricing confusion",
                            description="why", idempotency_key=f"jira:{ctx.job_id}:pricing")
    if ctx.attempt == 1:
        raise RetryableJobError("flaky after the effects")
    return {"ts": ts, "jira": key}


registry.register(registry.JobType(name="test_effects", handler=_notify_then_fail_once,
                                   public=False))


@pytest.mark.django_db(transaction=True)
def test_slack_and_jira_are_called_once_across_a_retry(org, clean_queue, fake_slack, fake_jira):
    job = lifecycle.job_create(job_type="test_effects", input={}, organization=org)

    drain()

    job.refresh_from_db()
    assert job.status == "completed" and job.attempts == 2
    posts = fake_slack.calls("/api/chat.postMessage")
    creates = [c for c in fake_jira.calls("/rest/api/2/issue") if c.method == "POST"]
    assert len(posts) == 1 and len(creates) == 1
    assert "critical roadmap items" in posts[0].body.decode()
    fields = creates[0].json()["fields"]
    assert fields["project"] == {"key": "PLAT"} and fields["issuetype"] == {"name": "Epic"}
    assert fields["priority"] == {"name": "High"}
    assert job.output == {"ts": posts[0].answer.body["ts"], "jira": "PLAT-1"}
    assert SentEffect.objects.count() == 2


@pytest.mark.django_db
def test_unconfigured_integrations_are_off_and_say_so(settings, caplog):
    settings.SLACK_BOT_TOKEN = ""
    settings.JIRA_SERVER = ""

    assert slack.post_message(channel="#x", text="hi") is None
    assert jira.create_issue(project_key="P", summary="s") is None
    assert "Slack is not configured" in caplog.text and "Jira is not configured" in caplog.text
