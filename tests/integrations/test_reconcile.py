"""Effects whose outcome is unknown: a retry looks the effect up before sending again.

The fake services act, then answer after the client's timeout (or not at all);
the next call with the same key finds the row `sending` and asks the service
(Slack's conversations.history by metadata, Jira's JQL search by label).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from jobs.errors import AuthError, RetryableJobError
from jobs.integrations import jira, slack
from jobs.integrations.effects import effect_label
from jobs.integrations.models import SentEffect
from tests.fakes.server import (
    FakeServer,
    Recorded,
    Scripted,
    jira_error,
    slack_channel_id,
    slack_error,
)

pytestmark = pytest.mark.django_db


def answer_first_late(fake: FakeServer, method: str, prefix: str, delay: float) -> None:
    """The service acts on the first request, but answers it only after `delay`."""
    index, route = next((n, r) for n, r in enumerate(fake.routes) if r[:2] == (method, prefix))
    calls = {"n": 0}

    def late(rec: Recorded) -> Any:
        answer = route[2](rec)
        calls["n"] += 1
        if calls["n"] == 1:
            answer.delay = delay
        return answer

    fake.routes[index] = (method, prefix, late)


def accepted(fake: FakeServer, prefix: str, status: int) -> list[Recorded]:
    return [r for r in fake.calls(prefix)
            if r.method == "POST" and r.answer is not None and r.answer.status == status]


def in_doubt(key: str, kind: str) -> SentEffect:
    return SentEffect.objects.create(key=key, kind=kind, state=SentEffect.State.SENDING)


# --- Slack ---------------------------------------------------------------------------


def test_slack_a_post_whose_answer_was_lost_is_found_and_not_posted_again(fake_slack, settings):
    settings.INTEGRATIONS_TIMEOUT_SECONDS = 1
    answer_first_late(fake_slack, "POST", "/api/chat.postMessage", 1.6)

    with pytest.raises(RetryableJobError, match="Slack unreachable"):
        slack.post_message(channel="#roadmap", text="hi", idempotency_key="alert:1")
    assert SentEffect.objects.get(key="alert:1").state == "sending"

    ts = slack.post_message(channel="#roadmap", text="hi", idempotency_key="alert:1")

    (post,) = fake_slack.calls("/api/chat.postMessage")
    assert ts == post.answer.body["ts"]
    row = SentEffect.objects.get(key="alert:1")
    assert (row.state, row.external_id) == ("sent", ts)
    # The name was resolved to the channel's ID; the history was read with metadata,
    # from a margin before the row was created.
    (lookup,) = fake_slack.calls("/api/conversations.history")
    params = lookup.params()
    assert params["channel"] == slack_channel_id("#roadmap")
    assert params["include_all_metadata"] in ("1", "true", "True")
    oldest = dt.datetime.fromtimestamp(float(params["oldest"]), tz=dt.UTC)
    assert row.created_at - dt.timedelta(minutes=6) < oldest < row.created_at
    # A third call finds the record and asks nothing.
    calls = len(fake_slack.calls())
    assert slack.post_message(channel="#roadmap", text="hi", idempotency_key="alert:1") == ts
    assert len(fake_slack.calls()) == calls


def test_slack_an_in_doubt_post_that_is_not_found_is_posted_once(fake_slack, settings):
    settings.INTEGRATIONS_TIMEOUT_SECONDS = 1
    # Another message in the channel, tagged with another key, is not taken for ours.
    slack.post_message(channel="C0ROADMAP1", text="other", idempotency_key="alert:other")
    fake_slack.hang_next(1.6)  # no message stored: the request did not act

    with pytest.raises(RetryableJobError):
        slack.post_message(channel="C0ROADMAP1", text="hi", idempotency_key="alert:2")
    ts = slack.post_message(channel="C0ROADMAP1", text="hi", idempotency_key="alert:2")

    delivered = accepted(fake_slack, "/api/chat.postMessage", 200)
    assert [d.json()["text"] for d in delivered] == ["other", "hi"]
    assert delivered[1].json()["metadata"]["event_payload"] == {"key": "alert:2"}
    assert ts == delivered[1].answer.body["ts"]
    assert SentEffect.objects.get(key="alert:2").external_id == ts
    assert len(fake_slack.calls("/api/conversations.history")) == 1
    assert not fake_slack.calls("/api/conversations.list")  # an ID needs no resolving


@pytest.mark.parametrize("failure", ["500", "hang", "ratelimited"])
def test_slack_a_failing_lookup_is_retryable_and_posts_nothing(fake_slack, settings, failure):
    settings.INTEGRATIONS_TIMEOUT_SECONDS = 1
    in_doubt("alert:3", "slack")
    if failure == "500":
        fake_slack.fail_next(500)
    elif failure == "hang":
        fake_slack.hang_next(1.6)
    else:
        fake_slack.enqueue(slack_error("ratelimited", status=429, headers={"Retry-After": "2"}))

    with pytest.raises(RetryableJobError):
        slack.post_message(channel="C0ROADMAP1", text="hi", idempotency_key="alert:3")

    assert len(fake_slack.calls("/api/conversations.history")) == 1
    assert not fake_slack.calls("/api/chat.postMessage")
    assert SentEffect.objects.get(key="alert:3").state == "sending"


def test_slack_a_lookup_without_the_history_scope_fails_permanently_and_says_so(fake_slack):
    in_doubt("alert:4", "slack")
    fake_slack.enqueue(slack_error("missing_scope"))

    with pytest.raises(AuthError, match="channels:history") as caught:
        slack.post_message(channel="C0ROADMAP1", text="hi", idempotency_key="alert:4")

    assert "in doubt" in str(caught.value)
    assert not fake_slack.calls("/api/chat.postMessage")
    assert SentEffect.objects.get(key="alert:4").state == "sending"


def test_slack_an_unresolvable_channel_name_without_the_read_scope_says_so(fake_slack):
    in_doubt("alert:5", "slack")
    fake_slack.enqueue(slack_error("missing_scope"))  # conversations.list

    with pytest.raises(AuthError, match="channels:read"):
        slack.post_message(channel="#elsewhere", text="hi", idempotency_key="alert:5")

    assert not fake_slack.calls("/api/chat.postMessage")


# --- Jira ------------------------------------------------------------------------------


def test_jira_an_issue_whose_answer_was_lost_is_found_and_not_created_again(fake_jira, settings):
    settings.INTEGRATIONS_TIMEOUT_SECONDS = 0.5
    answer_first_late(fake_jira, "POST", "/rest/api/2/issue", 1.0)

    with pytest.raises(RetryableJobError, match="Jira unreachable"):
        jira.create_issue(project_key="PLAT", summary="s", idempotency_key="epic:lost")
    assert SentEffect.objects.get(key="epic:lost").state == "sending"

    key = jira.create_issue(project_key="PLAT", summary="s", idempotency_key="epic:lost")

    (create,) = accepted(fake_jira, "/rest/api/2/issue", 201)
    assert key == create.answer.body["key"] == "PLAT-1"
    row = SentEffect.objects.get(key="epic:lost")
    assert (row.state, row.external_id) == ("sent", "PLAT-1")
    (search,) = fake_jira.calls("/rest/api/2/search")
    assert search.params()["jql"].startswith(f'labels = "{effect_label("epic:lost")}"')


def test_jira_an_in_doubt_issue_that_is_not_found_is_created_once(fake_jira, settings):
    settings.INTEGRATIONS_TIMEOUT_SECONDS = 0.5
    jira.create_issue(project_key="PLAT", summary="other", idempotency_key="epic:other")
    fake_jira.hang_next(1.0)  # the create did not act

    with pytest.raises(RetryableJobError):
        jira.create_issue(project_key="PLAT", summary="s", idempotency_key="epic:miss")
    key = jira.create_issue(project_key="PLAT", summary="s", idempotency_key="epic:miss")

    created = accepted(fake_jira, "/rest/api/2/issue", 201)
    assert [c.json()["fields"]["summary"] for c in created] == ["other", "s"]
    assert created[1].json()["fields"]["labels"] == [effect_label("epic:miss")]
    assert key == "PLAT-2" and SentEffect.objects.get(key="epic:miss").external_id == "PLAT-2"
    assert len(fake_jira.calls("/rest/api/2/search")) == 1


@pytest.mark.parametrize("failure", ["503", "hang", "429"])
def test_jira_a_failing_lookup_is_retryable_and_creates_nothing(fake_jira, settings, failure):
    settings.INTEGRATIONS_TIMEOUT_SECONDS = 0.5
    in_doubt("epic:3", "jira")
    answer = {"503": jira_error(503, "Service Unavailable"),
              "hang": Scripted(status=500, body={"errorMessages": ["late"]}, delay=1.0),
              "429": Scripted(status=429, body={"errorMessages": ["Rate limited"]},
                              headers={"Retry-After": "3"})}[failure]
    fake_jira.routes.insert(0, ("GET", "/rest/api/2/search", lambda rec: answer))

    with pytest.raises(RetryableJobError):
        jira.create_issue(project_key="PLAT", summary="s", idempotency_key="epic:3")

    assert len(fake_jira.calls("/rest/api/2/search")) == 1
    assert not [c for c in fake_jira.calls("/rest/api/2/issue") if c.method == "POST"]
    assert SentEffect.objects.get(key="epic:3").state == "sending"


def test_jira_a_search_the_credentials_may_not_run_fails_permanently_and_says_so(fake_jira):
    in_doubt("epic:4", "jira")
    fake_jira.routes.insert(0, ("GET", "/rest/api/2/search",
                                lambda rec: jira_error(403, "You may not search")))

    with pytest.raises(AuthError, match="in doubt"):
        jira.create_issue(project_key="PLAT", summary="s", idempotency_key="epic:4")

    assert not [c for c in fake_jira.calls("/rest/api/2/issue") if c.method == "POST"]
