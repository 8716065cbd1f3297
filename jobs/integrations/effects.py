"""Idempotent effects outside the database (a Slack post, a Jira issue).

`once(key=..., send=..., find=...)` makes an effect happen at most once per
key, across retries, rescues and crashes, in two phases:

1. Before sending, the key is recorded as in doubt: a `SentEffect` row with
   state `sending`, committed before the HTTP call (so `once` must run in
   autocommit, outside `transaction.atomic()`: see below).
2. The request goes out tagged with the key, so the effect can be found
   later: Slack messages carry it in their metadata (`event_type`
   `plinth_effect`, `event_payload.key`), Jira issues a label derived from it
   (`effect_label(key)`, `plinth-<16 hex of its sha256>`).
3. When the service answers, the row becomes `sent` with the external id
   (message ts, issue key). When it refused the request (429, 401/403, a 4xx)
   or never got it (connection refused: `NotDelivered`), nothing happened, and
   the row this attempt wrote is deleted again. Anything else (a timeout, a
   5xx, a connection dropped mid-request, a body that is not JSON) leaves the
   row in doubt.

A retry that finds the row `sent` returns its id and sends nothing. One that
finds it still `sending` does not know whether the earlier request acted (its
answer was lost to the client timeout, a 5xx, a dropped connection, or the
process died before recording it), so it looks first (`find(row)`): Slack's
`conversations.history` since the row was created, Jira's JQL search by label.
Found: the row is marked `sent` with the found id and nothing is sent. Not
found: it sends (tagged again). The lookup failing (timeout, 5xx) raises
RetryableJobError and sends nothing; the lookup refused (a missing scope) is a
permanent failure with a message that says so: sending blind could duplicate.

While one attempt is sending or looking, the key's session advisory lock
makes a concurrent attempt with the same key wait for a retry
(RetryableJobError) rather than send too.

What is left: a request the service acts on only after the retry's lookup ran
(a service still working past our timeout plus the retry's back-off), or a
search index that lags behind the create (Jira's JQL is near-real-time), can
still be sent twice. Keys should name the decided item, not the attempt
(`roadmap:suggestion:<id>:epic`, `roadmap:<job id>:critical`).

Call effects after the transaction that decided them has committed (from a
handler outside `transaction.atomic()`, or in `transaction.on_commit`): an
effect sent for a decision that then rolls back cannot be taken back, and an
in-doubt row written inside a transaction that rolls back is lost with it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

from jobs.errors import AuthError, PermanentJobError, RateLimitedError, RetryableJobError
from jobs.integrations.models import SentEffect
from jobs.locks import session_lock

logger = logging.getLogger(__name__)

MAX_KEY = 255
LABEL_PREFIX = "plinth-"



class NotDelivered(RetryableJobError):
    """The request never reached the service (the connection was refused): retry, no doubt."""


# The service answered and refused, or never got the request: it did not act,
# so the effect is not in doubt.
REFUSED = (RateLimitedError, AuthError, PermanentJobError, NotDelivered)

Find = Callable[[SentEffect], "str | None"]


def normal_key(key: str) -> str:
    """Keys longer than the column keep a readable head and a hash of the whole."""
    if len(key) <= MAX_KEY:
        return key
    return f"{key[:190]}#{hashlib.sha256(key.encode()).hexdigest()}"


def effect_label(key: str) -> str:
    """A tag for services whose tags cannot hold the key itself (Jira labels: no spaces)."""
    return LABEL_PREFIX + hashlib.sha256(normal_key(key).encode()).hexdigest()[:16]


def sent(key: str) -> SentEffect | None:
    """The effect recorded as sent under `key`, if any (in-doubt rows are not)."""
    return SentEffect.objects.filter(key=normal_key(key), state=SentEffect.State.SENT).first()


def _mark_sent(row: SentEffect, external_id: str) -> None:
    row.state, row.external_id = SentEffect.State.SENT, external_id
    row.save(update_fields=["state", "external_id", "updated_at"])


# urllib3's and requests' names for a connection that was never established.
_NO_CONNECTION = frozenset({"NewConnectionError", "ConnectTimeout", "ConnectTimeoutError"})


def connection_refused(exc: BaseException) -> bool:
    """Whether `exc` (or what it wraps) says no connection was made: nothing was sent."""
    seen: set[int] = set()
    stack: list[object] = [exc]
    while stack:
        current = stack.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError):
            return True
        if type(current).__name__ in _NO_CONNECTION:
            return True
        stack.extend([current.__cause__, current.__context__, getattr(current, "reason", None),
                      *current.args])
    return False


def once(*, key: str | None, kind: str, send: Callable[[], str], find: Find | None = None) -> str:
    """Run `send` unless an effect with `key` was sent already; returns its external id.

    `find(row)` looks for an effect of an earlier attempt whose outcome is
    unknown (the row is `sending`): it returns the external id when the
    service has it, None when it has not, and raises when it cannot tell.
    Without `find`, an in-doubt effect is sent again.
    """
    if not key:
        return send()
    key = normal_key(key)
    existing = sent(key)
    if existing is not None:
        return existing.external_id
    with session_lock(f"effect:{key}") as taken:
        if not taken:
            raise RetryableJobError(f"Effect {key!r} is being sent by another attempt")
        # The holder before us may have just recorded it, or left it in doubt.
        row, created = SentEffect.objects.get_or_create(
            key=key, defaults={"kind": kind, "state": SentEffect.State.SENDING}
        )
        if row.state == SentEffect.State.SENT:
            return row.external_id
        if not created and find is not None:
            found = find(row)
            if found:
                logger.info("%s effect %r was sent by an earlier attempt (%s); not sending again",
                            kind, key, found)
                _mark_sent(row, found)
                return found
            logger.info("%s effect %r was in doubt and is not found; sending it", kind, key)
        try:
            external_id = send()
        except REFUSED:
            if created:  # refused: nothing happened, nothing is in doubt
                row.delete()
            raise
        _mark_sent(row, external_id)
    return external_id
