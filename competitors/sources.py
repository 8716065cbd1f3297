"""Pluggable news, review and search sources.

A source answers a query with findings. Two ways to plug one in:

- configuration: COMPETITORS_NEWS_SOURCES / _REVIEW_SOURCES / _SEARCH_SOURCES list
  URLs of HTTP services answering `GET <url>?q=<query>&limit=<n>` with
  `{"results": [{"title", "url", "snippet", "published_at"?, "rating"?}]}`
  (a thin proxy in front of Exa, G2, a news API...);
- code: `register_source("news", source)` with any object that has a `name` and
  `search(*, query, limit) -> list[Finding]`.

`search_all(kind, query)` asks every source of a kind. With none configured it
returns no findings and says so; the job goes on. A source that times out or
answers 5xx/429 raises RetryableJobError (the step is durable, so a retry does
not repeat the steps before it); one that answers nonsense or 4xx is recorded
as an error and skipped.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
from django.conf import settings

from jobs.errors import RetryableJobError

KINDS = ("news", "reviews", "search")


@dataclass
class Finding:
    title: str
    url: str = ""
    snippet: str = ""
    source: str = ""
    published_at: str = ""
    rating: float | None = None


class Source(Protocol):
    name: str

    def search(self, *, query: str, limit: int) -> list[Finding]: ...


class HttpJsonSource:
    """A configured HTTP source (see the module docstring for its contract)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.name = urlsplit(url).netloc or url

    def search(self, *, query: str, limit: int) -> list[Finding]:
        headers = {"Accept": "application/json"}
        params: dict[str, str | int] = {"q": query, "limit": limit}
        if settings.COMPETITORS_SOURCES_API_KEY:
            headers["Authorization"] = f"Bearer {settings.COMPETITORS_SOURCES_API_KEY}"
        timeout = float(settings.COMPETITORS_SOURCE_TIMEOUT_SECONDS)
        try:
            response = requests.get(
                self.url, params=params, headers=headers, timeout=timeout
            )
        except requests.Timeout as exc:
            raise RetryableJobError(
                f"Source {self.name} did not answer within {timeout:g} s"
            ) from exc
        except requests.ConnectionError as exc:
            raise RetryableJobError(f"Source {self.name} could not be reached") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise RetryableJobError(f"Source {self.name} answered HTTP {response.status_code}")
        if response.status_code >= 400:
            raise SourceError(f"Source {self.name} answered HTTP {response.status_code}")
        try:
            results = response.json()["results"]
            return [_finding(item, self.name) for item in results[:limit]]
        except (ValueError, KeyError, TypeError) as exc:
            raise SourceError(f"Source {self.name} answered something other than results") from exc


class SourceError(Exception):
    """A source answered, but not usefully: recorded and skipped."""


def _finding(item: dict[str, Any], source: str) -> Finding:
    rating = item.get("rating")
    return Finding(
        title=str(item["title"])[:300],
        url=str(item.get("url") or "")[:500],
        snippet=str(item.get("snippet") or "")[:1000],
        source=str(item.get("source") or source)[:100],
        published_at=str(item.get("published_at") or "")[:40],
        rating=float(rating) if isinstance(rating, int | float) else None,
    )


_registered: dict[str, list[Source]] = {kind: [] for kind in KINDS}


def register_source(kind: str, source: Source) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown source kind {kind!r}; one of {', '.join(KINDS)}")
    _registered[kind].append(source)


def unregister_source(kind: str, source: Source) -> None:
    _registered[kind].remove(source)


def sources_for(kind: str) -> list[Source]:
    urls = {
        "news": settings.COMPETITORS_NEWS_SOURCES,
        "reviews": settings.COMPETITORS_REVIEW_SOURCES,
        "search": settings.COMPETITORS_SEARCH_SOURCES,
    }[kind]
    return [*(HttpJsonSource(url) for url in urls), *_registered[kind]]


def search_all(kind: str, query: str, *, limit: int | None = None) -> dict[str, Any]:
    """Every source's findings for the query, as JSON for a durable step."""
    limit = limit or int(settings.COMPETITORS_SOURCE_MAX_RESULTS)
    sources = sources_for(kind)
    findings: list[dict[str, Any]] = []
    errors: list[str] = []
    for source in sources:
        try:
            findings.extend(asdict(f) for f in source.search(query=query, limit=limit))
        except SourceError as exc:
            errors.append(str(exc))
    if not sources:
        note = f"No {kind} sources configured: nothing found"
    elif not findings:
        note = f"No {kind} found"
    else:
        note = f"{len(findings)} {kind} item(s) found"
    return {
        "query": query,
        "sources": [s.name for s in sources],
        "findings": findings,
        "errors": errors,
        "note": note,
    }
