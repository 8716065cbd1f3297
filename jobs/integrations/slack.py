"""Slack messages through slack-sdk's WebClient.

Off when SLACK_BOT_TOKEN is unset (or no channel is given and
SLACK_DEFAULT_CHANNEL is unset): the call logs that and returns None, and the
job carries on. Call `post_message` after the transaction that decided the
message has committed (see `jobs.integrations.effects`).

A message with an idempotency key carries it in its metadata
(`event_type` `plinth_effect`, `event_payload.key`). When an earlier attempt's
post is in doubt (its answer was lost), the retry reads the channel's history
since then (`conversations.history` with `include_all_metadata`) and takes
the message it finds instead of posting again. That needs the bot scopes
`channels:history` (public channels) / `groups:history` (private ones), and,
for a channel given by name rather than ID, `channels:read` / `groups:read`
to resolve the name. Without them the in-doubt post cannot be checked, and
the job fails permanently (AuthError) saying so, rather than risk posting twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import re

from django.conf import settings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from jobs import tracing
from jobs.errors import AuthError, PermanentJobError, RateLimitedError, RetryableJobError
from jobs.integrations.effects import NotDelivered, connection_refused, normal_key, once
from jobs.integrations.models import SentEffect

logger = logging.getLogger(__name__)

_AUTH_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
     "missing_scope", "not_allowed_token_type"}
)


EVENT_TYPE = "plinth_effect"
# How far before the in-doubt row's creation the history is read: clock skew
# between our database and Slack's servers.
LOOKBACK_MARGIN = dt.timedelta(minutes=5)
HISTORY_PAGE = 200
HISTORY_MAX_PAGES = 25  # 5,000 messages since the row was created: beyond that, give up
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")
_channel_ids: dict[tuple[str, str], str] = {}  # (API URL, channel name) -> ID, per process


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


def _lookup_error(exc: SlackApiError, key: str, scopes: str) -> Exception:
    """An error from a lookup of an in-doubt post: say what it was for."""
    error = str(exc.response.get("error", "") or "") if exc.response is not None else ""
    if error == "missing_scope":
        return AuthError(
            f"Slack post {key!r} is in doubt (an earlier attempt's answer was lost) and cannot "
            f"be checked: the bot token lacks the {scopes} scope. Add it and retry the job, "
            "or check the channel by hand (delete the in-doubt SentEffect row to post again)."
        )
    classified = _classify(exc)
    if isinstance(classified, RetryableJobError):
        return classified  # 429, 5xx: look again on the next attempt
    return type(classified)(f"Cannot check the in-doubt Slack post {key!r}: {classified}")


def _channel_id(client: WebClient, channel: str, key: str) -> str:
    """The channel's ID (conversations.history takes no names); resolved by conversations.list."""
    if _CHANNEL_ID.match(channel):
        return channel
    name = channel.lstrip("#")
    cached = _channel_ids.get((settings.SLACK_API_URL, name))
    if cached:
        return cached
    cursor = None
    while True:
        response = client.conversations_list(
            types="public_channel,private_channel", exclude_archived=True, limit=1000,
            **({"cursor": cursor} if cursor else {}),
        )
        for found in response.get("channels") or []:
            if found.get("name") == name:
                _channel_ids[(settings.SLACK_API_URL, name)] = str(found["id"])
                return str(found["id"])
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            raise PermanentJobError(
                f"Cannot check the in-doubt Slack post {key!r}: no channel named {channel!r} "
                "is visible to the bot"
            )


def _find_message(channel: str, key: str, since: dt.datetime) -> str | None:
    """The ts of a message tagged with `key` in `channel` posted after `since`, or None."""
    client = _client()
    oldest = f"{(since - LOOKBACK_MARGIN).timestamp():.6f}"
    try:
        try:
            channel_id = _channel_id(client, channel, key)
        except SlackApiError as exc:
            raise _lookup_error(exc, key, "channels:read (groups:read for private channels)") \
                from exc
        cursor = None
        for _ in range(HISTORY_MAX_PAGES):
            try:
                response = client.conversations_history(
                    channel=channel_id, oldest=oldest, include_all_metadata=True,
                    limit=HISTORY_PAGE, **({"cursor": cursor} if cursor else {}),
                )
            except SlackApiError as exc:
                raise _lookup_error(
                    exc, key, "channels:history (groups:history for private channels)") from exc
            for message in response.get("messages") or []:
                metadata = message.get("metadata") or {}
                if (metadata.get("event_type") == EVENT_TYPE
                        and (metadata.get("event_payload") or {}).get("key") == key):
                    return str(message.get("ts", ""))
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not response.get("has_more") or not cursor:
                return None
    except OSError as exc:
        raise RetryableJobError(f"Slack unreachable (checking an in-doubt post): {exc}") from exc
    raise PermanentJobError(
        f"Cannot check the in-doubt Slack post {key!r}: more than "
        f"{HISTORY_PAGE * HISTORY_MAX_PAGES} messages in {channel} since it was tried"
    )


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

    key = normal_key(idempotency_key) if idempotency_key else None
    metadata = {"event_type": EVENT_TYPE, "event_payload": {"key": key}} if key else None

    @tracing.traced("slack chat.postMessage", **{"peer.service": "slack",
                                                   "rpc.method": "chat.postMessage"})
    def send() -> str:
        try:
            response = _client().chat_postMessage(channel=channel, text=text, metadata=metadata)
        except SlackApiError as exc:
            raise _classify(exc) from exc
        except OSError as exc:  # timeouts, refused and reset connections (urllib)
            if connection_refused(exc):
                raise NotDelivered(f"Slack unreachable: {exc}") from exc
            raise RetryableJobError(f"Slack unreachable: {exc}") from exc
        return str(response.get("ts", ""))

    def find(row: SentEffect) -> str | None:
        return _find_message(channel, row.key, row.created_at)

    return once(key=key, kind="slack", send=send, find=find)
