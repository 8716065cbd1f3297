"""Report builder fixtures: a document with context and a prompt block, a Claude that
answers only when released, and a real Chromium (Debian's) driven by Playwright."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from reports.models import Block, ContextItem, Document

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


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


# Module scope: Playwright's sync API keeps an event loop on this thread while it
# runs, which would break the real workers of later test modules (asyncio.run
# inside a running loop); it closes when the browser module's tests are done.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: `make test` installs it (scripts/ensure_browser.sh) "
                    "when run as root with apt-get")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[dev]'")
    # Django takes the thread with Playwright's loop for an async context; the
    # test's ORM calls are plain sync calls on this thread.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def page(browser: Any, live_server: Any, user: Any) -> Iterator[Any]:
    """A page logged in as `user` (a session cookie made by Django's test client)."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    context = browser.new_context(base_url=live_server.url)
    host = live_server.url.split("//", 1)[1].split(":")[0]
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                          "domain": host, "path": "/"}])
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()
