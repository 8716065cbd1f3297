"""A fake company website, fake news and review sources (local HTTP servers), and decisions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from rest_framework.authtoken.models import Token

from competitors.models import Decision, Option
from tests.fakes.server import FakeServer, Recorded, Scripted

ACME_HTML = """<!doctype html><html><head><meta charset="utf-8">
<title>Acme Corp — analytics for everyone</title>
<meta name="description" content="Acme Corp makes self-serve product analytics for small teams.">
<style>body { color: red }</style></head>
<body><h1>Self-serve analytics</h1><p>Set up in a day. Teams love how easy it is.</p>
<h2>Pricing</h2><p>Plans start at $59 per month for 10 seats.</p>
<h2>Integrations</h2><p>Connects to Slack, Jira and 40 more tools.</p>
<script>var secret = "not page text";</script></body></html>"""


def html(body: str, status: int = 200, delay: float = 0.0, **headers: str) -> Scripted:
    return Scripted(status=status, raw=body.encode(), delay=delay,
                    headers={"Content-Type": "text/html; charset=utf-8", **headers})


class FakeSite(FakeServer):
    """A company's website: / answers a real page, others what each test needs."""

    def __init__(self) -> None:
        super().__init__()
        self.route("GET", "/slow", lambda rec: html(ACME_HTML, delay=self.slow_delay))
        self.route("GET", "/gone", lambda rec: html("<h1>Not found</h1>", status=404))
        self.route("GET", "/down", lambda rec: html("oops", status=503))
        self.route("GET", "/forbidden", lambda rec: html("no robots", status=403))
        self.route("GET", "/pdf", lambda rec: Scripted(raw=b"%PDF-1.4",
                                                       headers={"Content-Type": "application/pdf"}))
        self.route("GET", "/big", lambda rec: html(
            "<html><body><h1>Big</h1><p>" + "word " * 100_000 + "</p></body></html>"))
        self.route("GET", "/hop", lambda rec: html("", status=302, Location="/"))
        self.route("GET", "/to-private", lambda rec: html(
            "", status=302, Location="http://10.1.2.3/admin"))
        self.route("GET", "/", lambda rec: html(ACME_HTML))
        self.slow_delay = 2.0
        # A scraper that gave up on /slow resets its connection; that is the point.
        self.httpd.handle_error = lambda request, client_address: None  # type: ignore[method-assign]

    def pages(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path.split("?")[0] == path]


@pytest.fixture
def site(settings: Any) -> Iterator[FakeSite]:
    fake = FakeSite().start()
    settings.COMPETITORS_SCRAPE_ALLOW_PRIVATE_HOSTS = ["127.0.0.1"]
    settings.COMPETITORS_SCRAPE_TIMEOUT_SECONDS = 0.5
    yield fake
    fake.stop()


def search_answer(results: list[dict[str, Any]]) -> Any:
    return lambda rec: Scripted(body={"results": results})


@pytest.fixture
def news_source(settings: Any) -> Iterator[FakeServer]:
    fake = FakeServer()
    fake.route("GET", "/news", search_answer([
        {"title": "Acme Corp raises $20M to expand self-serve analytics",
         "url": "https://news.example/acme-raise", "snippet": "Growth in demand from small teams.",
         "published_at": "2026-10-01"},
        {"title": "Acme Corp outage angers customers", "url": "https://news.example/outage",
         "snippet": "A two-day outage and slow support.", "published_at": "2026-09-12"},
    ]))
    fake.start()
    settings.COMPETITORS_NEWS_SOURCES = [f"{fake.url}/news"]
    settings.COMPETITORS_SOURCES_API_KEY = "source-key"
    yield fake
    fake.stop()


@pytest.fixture
def review_source(settings: Any) -> Iterator[FakeServer]:
    fake = FakeServer()
    fake.route("GET", "/reviews", search_answer([
        {"title": "Great for small teams", "snippet": "Easy setup, love the digests.",
         "rating": 5, "source": "G2"},
        {"title": "Gets expensive", "snippet": "Pricing confusing once you grow.",
         "rating": 2, "source": "G2"},
    ]))
    fake.start()
    settings.COMPETITORS_REVIEW_SOURCES = [f"{fake.url}/reviews"]
    yield fake
    fake.stop()


@pytest.fixture(autouse=True)
def _offline_llm_and_no_sources(settings: Any) -> None:
    """Tests start from a product with no LLM key and no sources configured."""
    settings.LLM_PROVIDER = "auto"
    settings.OPENAI_API_KEY = ""
    settings.ANTHROPIC_API_KEY = ""
    settings.COMPETITORS_NEWS_SOURCES = []
    settings.COMPETITORS_REVIEW_SOURCES = []
    settings.COMPETITORS_SEARCH_SOURCES = []


@pytest.fixture
def decision(org: Any, user: Any) -> Decision:
    decision = Decision.objects.create(
        organization=org, created_by=user, title="Launch a self-serve analytics tier?",
        context="Small teams want self-serve analytics. Demand is growing fast. "
                "Pricing confuses buyers.",
    )
    Option.objects.create(decision=decision, title="Self-serve tier", position=1,
                          description="Easy setup for small teams, growth by word of mouth.")
    Option.objects.create(decision=decision, title="Stay sales-led", position=2,
                          description="Slow sales cycle and churn risk.")
    return decision


@pytest.fixture
def token(user: Any) -> str:
    return Token.objects.get_or_create(user=user)[0].key


def llm_prompt(rec: Recorded) -> str:
    """The user message an OpenAI chat request carried."""
    return next(m["content"] for m in rec.json()["messages"] if m["role"] == "user")


def llm_reply(answers: dict[str, dict[str, Any]]) -> Any:
    """A fake LLM answer chosen by a phrase of the request's system prompt."""

    def answer(rec: Recorded) -> str:
        system = next(m["content"] for m in rec.json()["messages"] if m["role"] == "system")
        for phrase, data in answers.items():
            if phrase in system:
                return json.dumps(data)
        raise AssertionError(f"unexpected prompt: {system[:80]}")

    return answer
