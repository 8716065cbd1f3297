"""Provider SDK exceptions mapped to the platform's error kinds (jobs.registry.ERROR_POLICIES;
the table in docs/ai-and-integrations.md)."""

from __future__ import annotations

import datetime as dt
from email.utils import parsedate_to_datetime
from typing import Any

import anthropic
import openai

from jobs.errors import (
    AuthError,
    JobError,
    PermanentJobError,
    RateLimitedError,
    RetryableJobError,
)


def retry_after_seconds(response: Any) -> float | None:
    """A response's Retry-After in seconds (`retry-after-ms`, seconds, or an HTTP date)."""
    if response is None:
        return None
    headers = getattr(response, "headers", {}) or {}
    value = headers.get("retry-after-ms")
    if value is not None:
        try:
            return max(float(value) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max((when - dt.datetime.now(dt.UTC)).total_seconds(), 0.0)


def map_provider_error(exc: Exception, *, provider: str) -> JobError:
    name = provider.capitalize() if provider != "openai" else "OpenAI"
    for sdk in (openai, anthropic):
        if isinstance(exc, sdk.RateLimitError):
            return RateLimitedError(
                f"{name} rate limit (429): {exc}",
                retry_after=retry_after_seconds(getattr(exc, "response", None)),
            )
        if isinstance(exc, sdk.AuthenticationError | sdk.PermissionDeniedError):
            return AuthError(f"{name} refused the API key ({exc.status_code}): {exc}")
        if isinstance(exc, sdk.APITimeoutError):
            return RetryableJobError(f"{name} request timed out")
        if isinstance(exc, sdk.APIConnectionError):
            return RetryableJobError(f"{name} connection error: {exc}")
        if isinstance(exc, sdk.APIStatusError):
            if exc.status_code >= 500 or exc.status_code in (408, 409):
                return RetryableJobError(f"{name} error {exc.status_code}: {exc}")
            return PermanentJobError(f"{name} error {exc.status_code}: {exc}")
    if isinstance(exc, JobError):
        return exc
    return RetryableJobError(f"{name} call failed: {exc}")
