"""Slack messages through slack-sdk's WebClient.

Off when SLACK_BOT_TOKEN is unset (or no channel is given and
SLACK_DEFAULT_CHANNEL is unset): the call logs that and returns None, and the
job carries on. Call `post_message` after the transaction that decided the
message has committed (see `jobs.integrations.effects`).
"""

from __future__ import annotations

import logging

from django.conf import settings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from jobs.errors import AuthError, PermanentJobError, RateLimitedError, RetryableJobError
from jobs.integrations.effects import once

logger = logging.getLogger(__name__)

_AUTH_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
     "missing_scope", "not_allowed_token_type"}
)


def is_configured() -> bool:
    return bool(settings.SLACK_BOT_TOKEN)


def _client() -> WebClient:
    return WebClient(
        token=settings.SLACK_BOT_TOKEN,
        base_url=settings.SLACK_API_URL,
        timeout=max(1, round(settings.INTEGRATIONS_TIMEOUT_SECONDS)),
        # No SDK retries: a retried post after a dropped connection could post
        # twice; the platform's retry goes through the idempotency record.
        retry_handlers=[],
    )


def _classify(exc: SlackApiError) -> Exception:
    response = exc.response
    status = getattr(response, "status_code", 0) or 0
    error = str(response.get("error", "") or "") if response is not None else ""
    if status == 429 or error == "ratelimited":
        headers = getattr(response, "headers", {}) or {}
        retry = headers.get("Retry-After") or headers.get("retry-after") or "1"
        try:
            seconds = float(retry)
        except ValueError:
            seconds = 1.0
        return RateLimitedError(f"Slack rate limit (429), retry after {seconds:.0f} s",
                                retry_after=seconds)
    if status in (401, 403) or error in _AUTH_ERRORS:
        return AuthError(f"Slack refused the bot token: {error or status}")
    if status >= 500 or error in ("fatal_error", "internal_error", "service_unavailable",
                                  "request_timeout") or "non-JSON" in error:
        return RetryableJobError(f"Slack error {status}: {error}")
    return PermanentJobError(f"Slack error: {error or status}")


def post_message(
    *, channel: str | None, text: str, idempotency_key: str | None = None
) -> str | None:
    """Post `text` to `channel` once per idempotency key; returns the message ts.

    None (and a log line) when Slack is not configured. Raises the platform's
    errors otherwise: RateLimitedError (429, Retry-After), AuthError (bad
    token), RetryableJobError (5xx, timeouts), PermanentJobError (for example
    channel_not_found).
    """
    channel = channel or settings.SLACK_DEFAULT_CHANNEL
    if not is_configured() or not channel:
        logger.info("Slack is not configured (token or channel missing); not sending: %s", text)
        return None

    def send() -> str:
        try:
            response = _client().chat_postMessage(channel=channel, text=text)
        except SlackApiError as exc:
            raise _classify(exc) from exc
        except OSError as exc:  # timeouts, refused and reset connections (urllib)
            raise RetryableJobError(f"Slack unreachable: {exc}") from exc
        return str(response.get("ts", ""))

    return once(key=idempotency_key, kind="slack", send=send)
