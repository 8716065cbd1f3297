"""Settings for decisions and competitors (competitors); see docs/competitors-and-realtime.md."""

from typing import Any

from django.core.exceptions import ImproperlyConfigured

from config.env import number_map, positive_float, positive_int, secret, string, string_list

# --- the five job types: the seed's tables --------------------------------------
# Poll interval and maximum duration per type (the seed's "Polling Configuration";
# evidence_search is not in that table: 2 s and 1 min, like brief generation).
# Typical durations are the seed's "Job Types" table. Its modal mock-up says
# "This usually takes 30-60 seconds" for a competitor analysis while the table says
# 30-90: the table wins, and the modal shows this value (one source for both).
# Each can be overridden: COMPETITORS_POLL_INTERVAL_MS=option_analysis=1000,...
_JOB_TYPE_DEFAULTS = {
    "competitor_analysis": (3000, 120, "30-90 seconds"),
    "market_research": (3000, 120, "20-60 seconds"),
    "brief_generation": (2000, 60, "15-30 seconds"),
    "option_analysis": (2000, 30, "10-20 seconds"),
    "evidence_search": (2000, 60, "10-30 seconds"),
}
# Known job types only, every value > 0.
_poll = number_map("COMPETITORS_POLL_INTERVAL_MS", {}, cast=int, keys=_JOB_TYPE_DEFAULTS)
_max = number_map("COMPETITORS_MAX_DURATION_SECONDS", {}, cast=int, keys=_JOB_TYPE_DEFAULTS)
COMPETITORS_JOB_TYPES: dict[str, dict[str, Any]] = {
    name: {
        "poll_interval_ms": _poll.get(name, poll),
        "max_duration_seconds": _max.get(name, seconds),
        "typical_duration": typical,
    }
    for name, (poll, seconds, typical) in _JOB_TYPE_DEFAULTS.items()
}

# --- scraping a competitor's website ----------------------------------------------
COMPETITORS_SCRAPE_TIMEOUT_SECONDS = positive_float("COMPETITORS_SCRAPE_TIMEOUT_SECONDS", 10.0)
COMPETITORS_SCRAPE_MAX_BYTES = positive_int("COMPETITORS_SCRAPE_MAX_BYTES", 2_000_000)
# How much of the page's text goes into the LLM prompt.
COMPETITORS_SCRAPE_MAX_TEXT_CHARS = positive_int("COMPETITORS_SCRAPE_MAX_TEXT_CHARS", 6000)
COMPETITORS_SCRAPE_MAX_REDIRECTS = positive_int("COMPETITORS_SCRAPE_MAX_REDIRECTS", 5)
COMPETITORS_SCRAPE_USER_AGENT = string(
    "COMPETITORS_SCRAPE_USER_AGENT", "PlinthJobs-CompetitorAnalysis/1.0"
)
# Workers refuse URLs that resolve to private, loopback or link-local addresses
# (a user-supplied URL must not reach internal services); hosts listed here may.
COMPETITORS_SCRAPE_ALLOW_PRIVATE_HOSTS = string_list("COMPETITORS_SCRAPE_ALLOW_PRIVATE_HOSTS", [])

# --- pluggable news, review and search sources -----------------------------------
# Each is a list of URLs answering GET ?q=<query>&limit=<n> with
# {"results": [{"title", "url", "snippet", "published_at"?, "rating"?}]}.
# None configured: the step records that it found nothing and the job goes on.
COMPETITORS_NEWS_SOURCES = string_list("COMPETITORS_NEWS_SOURCES", [])
COMPETITORS_REVIEW_SOURCES = string_list("COMPETITORS_REVIEW_SOURCES", [])
COMPETITORS_SEARCH_SOURCES = string_list("COMPETITORS_SEARCH_SOURCES", [])
COMPETITORS_SOURCES_API_KEY = secret("COMPETITORS_SOURCES_API_KEY")
COMPETITORS_SOURCE_TIMEOUT_SECONDS = positive_float("COMPETITORS_SOURCE_TIMEOUT_SECONDS", 10.0)
COMPETITORS_SOURCE_MAX_RESULTS = positive_int("COMPETITORS_SOURCE_MAX_RESULTS", 5)
for _url in (*COMPETITORS_NEWS_SOURCES, *COMPETITORS_REVIEW_SOURCES, *COMPETITORS_SEARCH_SOURCES):
    if not _url.startswith(("http://", "https://")):
        raise ImproperlyConfigured(f"A source must be an http(s) URL, not {_url!r}")
