"""A real browser for the page tests: Playwright drives Debian's Chromium
(/usr/bin/chromium, never a downloaded browser), logged in as a test user."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def chromium() -> Iterator[Any]:
    """Chromium for a module's tests (use it from a module-scoped fixture).

    Playwright's sync API keeps an event loop on this thread while it runs, which
    would break the real workers of later test modules (asyncio.run inside a
    running loop); the browser closes when the module's tests are done.
    """
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


def logged_in_page(browser: Any, base_url: str, user: Any) -> Iterator[Any]:
    """A page on `base_url` logged in as `user` (a session cookie made by Django's client)."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    context = browser.new_context(base_url=base_url)
    host = base_url.split("//", 1)[1].split(":")[0]
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                          "domain": host, "path": "/"}])
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()
