"""Slack through slack-sdk's WebClient against a fake Slack Web API."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from jobs.errors import AuthError, PermanentJobError, RateLimitedError, RetryableJobError
from jobs.integrations import slack
from jobs.integrations.models import SentEffect
from tests.fakes.server import Scripted, slack_error


@pytest.mark.django_db
def test_a_message_is_posted_with_the_bot_token_and_recorded(fake_slack):
    ts = slack.post_message(channel="#roadmap", text="hello", idempotency_key="greet")

    (call,) = fake_slack.calls("/api/chat.postMessage")
    assert call.headers["authorization"] == "Bearer xoxb-test"
    assert call.json() == {
        "channel": "#roadmap", "text": "hello",
        # The key rides along, so a retry can find the message if this answer is lost.
        "metadata": {"event_type": "plinth_effect", "event_payload": {"key": "greet"}},
    }
    assert ts == call.answer.body["ts"] and ts.endswith(".000001")
    assert SentEffect.objects.get(key="greet").external_id == ts


@pytest.mark.django_db
def test_the_same_key_posts_once(fake_slack):
    first = slack.post_message(channel="#x", text="one", idempotency_key="k")
    second = slack.post_message(channel="#x", text="one", idempotency_key="k")

    assert first == second and len(fake_slack.calls("/api/chat.postMessage")) == 1


@pytest.mark.django_db
def test_without_a_channel_the_default_channel_is_used(fake_slack, settings):
    settings.SLACK_DEFAULT_CHANNEL = "#alerts"

    slack.post_message(channel=None, text="hi")

    assert fake_slack.calls("/api/chat.postMessage")[0].json()["channel"] == "#alerts"


@pytest.mark.django_db
def test_429_is_rate_limited_with_its_retry_after_and_nothing_is_recorded(fake_slack):
    fake_slack.enqueue(slack_error("ratelimited", status=429, headers={"Retry-After": "3"}))

    with pytest.raises(RateLimitedError) as caught:
        slack.post_message(channel="#x", text="hi", idempotency_key="k429")

    assert caught.value.retry_after == 3.0
    assert not SentEffect.objects.filter(key="k429").exists()


@pytest.mark.django_db
def test_a_token_slack_refuses_is_an_auth_error(fake_slack, settings):
    settings.SLACK_BOT_TOKEN = "xoxb-revoked"

    with pytest.raises(AuthError, match="invalid_auth"):
        slack.post_message(channel="#x", text="hi")


@pytest.mark.django_db
def test_an_unknown_channel_is_permanent(fake_slack):
    fake_slack.enqueue(slack_error("channel_not_found"))

    with pytest.raises(PermanentJobError, match="channel_not_found"):
        slack.post_message(channel="#nowhere", text="hi", idempotency_key="nowhere")

    assert not SentEffect.objects.filter(key="nowhere").exists()  # refused: not in doubt


@pytest.mark.django_db
@pytest.mark.parametrize("script", ["500", "hang", "invalid json"])
def test_server_errors_timeouts_and_broken_bodies_are_retryable(fake_slack, settings, script):
    settings.INTEGRATIONS_TIMEOUT_SECONDS = 1
    if script == "500":
        fake_slack.enqueue(Scripted(status=500, body={"ok": False, "error": "internal_error"}))
    elif script == "hang":
        fake_slack.hang_next(1.6)
    else:
        fake_slack.invalid_json_next()

    with pytest.raises(RetryableJobError):
        slack.post_message(channel="#x", text="hi", idempotency_key="flaky")

    # The outcome is unknown: the record stays in doubt for the retry to look up.
    assert SentEffect.objects.get(key="flaky").state == "sending"
    assert len(fake_slack.calls("/api/chat.postMessage")) == 1  # no retry inside the SDK


@pytest.mark.django_db(transaction=True)
def test_two_attempts_sending_the_same_key_at_once_post_once(fake_slack):
    fake_slack.enqueue(Scripted(body={"ok": True, "channel": "C1", "ts": "1.000001"}, delay=0.5))
    results: list[object] = []

    def attempt() -> None:
        try:
            results.append(slack.post_message(channel="#x", text="hi", idempotency_key="race"))
        except RetryableJobError as exc:
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert len(fake_slack.calls("/api/chat.postMessage")) == 1
    assert "1.000001" in results
    # The loser either waited for a retry or found the record.
    assert all(r == "1.000001" or isinstance(r, RetryableJobError) for r in results)
    assert SentEffect.objects.filter(key="race").count() == 1
