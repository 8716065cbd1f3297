"""The scraper (timeout, size cap, private addresses, redirects) and the pluggable sources."""

from __future__ import annotations

import pytest

from competitors import scraper, sources
from jobs.errors import InvalidInputError, RetryableJobError
from tests.fakes.server import FakeServer, Scripted


def test_a_page_gives_its_title_description_headings_and_visible_text(site):
    page = scraper.scrape(f"{site.url}/")

    assert page["ok"] is True and page["status"] == 200
    assert page["title"] == "Acme Corp — analytics for everyone"
    assert page["description"] == "Acme Corp makes self-serve product analytics for small teams."
    assert page["headings"] == ["Self-serve analytics", "Pricing", "Integrations"]
    assert "Teams love how easy it is." in page["text"]
    assert "not page text" not in page["text"] and "color: red" not in page["text"]
    assert site.requests[0].headers["user-agent"] == "PlinthJobs-CompetitorAnalysis/1.0"


def test_a_big_page_is_cut_at_the_size_cap(site, settings):
    settings.COMPETITORS_SCRAPE_MAX_BYTES = 10_000

    page = scraper.scrape(f"{site.url}/big")

    assert page["bytes"] == 10_000 and page["truncated"] is True


def test_redirects_are_followed_and_each_hop_is_checked(site):
    page = scraper.scrape(f"{site.url}/hop")

    assert page["final_url"] == f"{site.url}/" and page["title"].startswith("Acme Corp")
    with pytest.raises(InvalidInputError, match="is not allowed"):
        scraper.scrape(f"{site.url}/to-private")


def test_private_addresses_are_refused_unless_allowed(site, settings):
    settings.COMPETITORS_SCRAPE_ALLOW_PRIVATE_HOSTS = []

    with pytest.raises(InvalidInputError, match="is not allowed"):
        scraper.scrape(f"{site.url}/")
    assert site.requests == []


def test_not_a_web_page_is_empty_with_a_reason(site):
    assert scraper.scrape(f"{site.url}/pdf")["error"] == "Not a web page (application/pdf)"


def test_server_errors_and_timeouts_are_retryable(site):
    with pytest.raises(RetryableJobError, match="answered HTTP 503"):
        scraper.scrape(f"{site.url}/down")
    site.slow_delay = 1.0
    with pytest.raises(RetryableJobError, match="did not answer within 0.5 s"):
        scraper.scrape(f"{site.url}/slow")


def test_a_source_that_answers_nonsense_is_recorded_and_skipped(settings):
    fake = FakeServer()
    fake.route("GET", "/bad", lambda rec: Scripted(status=400, body={"error": "no"}))
    fake.route("GET", "/junk", lambda rec: Scripted(body={"items": []}))
    fake.start()
    settings.COMPETITORS_NEWS_SOURCES = [f"{fake.url}/bad", f"{fake.url}/junk"]
    try:
        found = sources.search_all("news", "Acme news")
    finally:
        fake.stop()

    assert found["findings"] == [] and found["note"] == "No news found"
    assert len(found["errors"]) == 2 and "answered HTTP 400" in found["errors"][0]


def test_a_failing_source_is_retryable(settings):
    fake = FakeServer()
    fake.route("GET", "/news", lambda rec: Scripted(status=502, body={}))
    fake.start()
    settings.COMPETITORS_NEWS_SOURCES = [f"{fake.url}/news"]
    try:
        with pytest.raises(RetryableJobError, match="answered HTTP 502"):
            sources.search_all("news", "Acme news")
    finally:
        fake.stop()


class StaticSource:
    name = "static"

    def search(self, *, query: str, limit: int) -> list[sources.Finding]:
        return [sources.Finding(title=f"{query} #{n}", source=self.name) for n in range(limit)]


def test_a_source_registered_in_code_is_asked_too(settings):
    source = StaticSource()
    sources.register_source("reviews", source)
    try:
        found = sources.search_all("reviews", "Acme", limit=2)
    finally:
        sources.unregister_source("reviews", source)

    assert [f["title"] for f in found["findings"]] == ["Acme #0", "Acme #1"]
    assert found["sources"] == ["static"] and found["note"] == "2 reviews item(s) found"
    assert sources.sources_for("reviews") == []
