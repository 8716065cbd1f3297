"""Pytest fixtures: fake OpenAI, Anthropic, Slack, Jira and Sentry servers, wired into settings.

Use them from any test folder: `tests/conftest.py` imports them (so every
test can name `fake_openai` etc.), or declare
`pytest_plugins = ["tests.fakes.fixtures"]` in a conftest elsewhere.

Each fixture starts a server on 127.0.0.1, points the settings (and so the
real SDK) at it with credentials the fake checks, and stops it afterwards.
`fake.reply` (LLM fakes) is the answer text: a string, or fn(Recorded) -> str.
Script failures with `fake.fail_next(429, retry_after=2)`, `fake.fail_next(401)`,
`fake.hang_next(seconds)`, `fake.invalid_json_next()`; read `fake.calls(prefix)`
and `fake.times(prefix)` for what arrived and when.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakes import server as fakes

OPENAI_KEY = "sk-test"
ANTHROPIC_KEY = "sk-ant-test"
SLACK_TOKEN = "xoxb-test"
JIRA_USER = "bot@example.com"
JIRA_TOKEN = "jira-token"


class LLMFake(fakes.FakeServer):
    """A fake LLM API whose answer text is `self.reply` (a string or fn(request) -> str)."""

    reply: Any = '{"ok": true}'

    def answer(self, rec: fakes.Recorded) -> str:
        return self.reply(rec) if callable(self.reply) else self.reply


def start_openai() -> LLMFake:
    fake = LLMFake()
    fakes.openai_api(fake, fake.answer, api_key=OPENAI_KEY)
    return fake.start()  # type: ignore[return-value]


def start_anthropic() -> LLMFake:
    fake = LLMFake()
    fakes.anthropic_api(fake, fake.answer, api_key=ANTHROPIC_KEY)
    return fake.start()  # type: ignore[return-value]


@pytest.fixture
def fake_openai(settings: Any) -> Iterator[LLMFake]:
    fake = start_openai()
    settings.LLM_PROVIDER = "openai"
    settings.OPENAI_API_KEY = OPENAI_KEY
    settings.OPENAI_BASE_URL = f"{fake.url}/v1"
    settings.LLM_TIMEOUT_SECONDS = 2.0
    settings.LLM_REQUESTS_PER_SECOND = 1000.0
    settings.LLM_TOKENS_PER_MINUTE = {}
    yield fake
    fake.stop()


@pytest.fixture
def fake_anthropic(settings: Any) -> Iterator[LLMFake]:
    fake = start_anthropic()
    settings.LLM_PROVIDER = "anthropic"
    settings.ANTHROPIC_API_KEY = ANTHROPIC_KEY
    settings.ANTHROPIC_BASE_URL = fake.url
    settings.LLM_TIMEOUT_SECONDS = 2.0
    settings.LLM_REQUESTS_PER_SECOND = 1000.0
    settings.LLM_TOKENS_PER_MINUTE = {}
    yield fake
    fake.stop()


@pytest.fixture
def fake_slack(settings: Any) -> Iterator[fakes.FakeServer]:
    fake = fakes.FakeServer()
    fakes.slack_api(fake, token=SLACK_TOKEN)
    fake.start()
    settings.SLACK_BOT_TOKEN = SLACK_TOKEN
    settings.SLACK_API_URL = f"{fake.url}/api/"
    settings.INTEGRATIONS_TIMEOUT_SECONDS = 2.0
    yield fake
    fake.stop()


@pytest.fixture
def fake_jira(settings: Any) -> Iterator[fakes.FakeServer]:
    fake = fakes.FakeServer()
    fakes.jira_api(fake, user=JIRA_USER, token=JIRA_TOKEN)
    fake.start()
    settings.JIRA_SERVER = fake.url
    settings.JIRA_USER = JIRA_USER
    settings.JIRA_API_TOKEN = JIRA_TOKEN
    settings.INTEGRATIONS_TIMEOUT_SECONDS = 2.0
    yield fake
    fake.stop()


@pytest.fixture
def fake_sentry() -> Iterator[fakes.FakeServer]:
    """A Sentry ingest endpoint; `fake.dsn` is a DSN that points at it."""
    fake = fakes.FakeServer()
    fakes.sentry_ingest(fake)
    fake.start()
    fake.dsn = f"http://publickey@{fake.url.removeprefix('http://')}/1"  # type: ignore[attr-defined]
    yield fake
    fake.stop()


PAGERDUTY_ROUTING_KEY = "R0UT1NGKEY0123456789ABCDEFGHIJKL"


@pytest.fixture
def fake_pagerduty(settings: Any) -> Iterator[fakes.FakeServer]:
    """The PagerDuty Events API v2, with OPS_PAGERDUTY_* pointed at it."""
    fake = fakes.FakeServer()
    fakes.pagerduty_events(fake, routing_key=PAGERDUTY_ROUTING_KEY)
    fake.start()
    settings.OPS_PAGERDUTY_ROUTING_KEY = PAGERDUTY_ROUTING_KEY
    settings.OPS_PAGERDUTY_EVENTS_URL = f"{fake.url}/v2/enqueue"
    settings.INTEGRATIONS_TIMEOUT_SECONDS = 2.0
    yield fake
    fake.stop()
