"""Report builder fixtures: a document with context and a prompt block, a Claude that
answers only when released, and a real Chromium (Debian's) driven by Playwright."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from reports.models import Block, ContextItem, Document
from tests.browser import chromium, logged_in_page


@pytest.fixture(autouse=True)
def offline_llm(settings: Any) -> None:
    """No key anywhere: the offline provider answers (tests that want Claude ask for
    `fake_anthropic`, which sets its own key and base URL after this)."""
    settings.LLM_PROVIDER = "auto"
    settings.OPENAI_API_KEY = ""
    settings.ANTHROPIC_API_KEY = ""
    settings.REPORTS_LLM_PROVIDER = "auto"


@pytest.fixture
def document(org: Any) -> Document:
    doc = Document.objects.create(organization=org, title="Q3 review", use_reviews=False)
    ContextItem.objects.create(document=doc, kind="evidence", text="Pricing confuses 12 users.")
    ContextItem.objects.create(document=doc, kind="review", text="Support was slow.")
    return doc


@pytest.fixture
def block(document: Document) -> Block:
    return Block.objects.create(document=document, position=1, prompt="Summarise the problems.")


class HeldClaude:
    """The fake Anthropic API, answering each request only when released."""

    def __init__(self, fake: Any) -> None:
        self.fake = fake
        self.arrived = threading.Event()
        self._release = threading.Event()
        self.text = "Held answer from Claude."
        fake.reply = self._reply

    def _reply(self, rec: Any) -> str:
        self.arrived.set()
        self._release.wait(20)
        return self.text

    def release(self) -> None:
        self._release.set()


@pytest.fixture
def held_claude(fake_anthropic: Any, settings: Any) -> Iterator[HeldClaude]:
    settings.REPORTS_LLM_PROVIDER = "anthropic"
    settings.LLM_TIMEOUT_SECONDS = 30.0  # the fake holds the answer; the SDK must not give up
    held = HeldClaude(fake_anthropic)
    yield held
    held.release()


# --- a real browser against the live (threaded WSGI) server ------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from chromium()


@pytest.fixture
def page(browser: Any, live_server: Any, user: Any) -> Iterator[Any]:
    yield from logged_in_page(browser, live_server.url, user)
