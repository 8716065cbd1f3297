"""Idempotent effects outside the database (a Slack post, a Jira issue).

`once(key=..., send=...)` checks the `SentEffect` table before sending and
records the effect after it succeeded, so a retried or rescued job that asks
again gets the first effect's id back instead of posting twice. While one
attempt is sending, the key's advisory lock makes a concurrent attempt with
the same key wait for a retry (RetryableJobError) rather than send too.

What this cannot cover: an effect that happened but whose record was lost
(the process died between the provider's answer and the INSERT), or whose
answer was lost (the client timed out after the service acted), is sent again
on retry: Slack and Jira take no idempotency key of their own
(tests/faults/test_external.py shows it, as an expected failure). Keys should name the decided item, not the attempt
(`roadmap:suggestion:<id>:epic`, `roadmap:<job id>:critical`).

Call effects after the transaction that decided them has committed (from a
handler outside `transaction.atomic()`, or in `transaction.on_commit`): an
effect sent for a decision that then rolls back cannot be taken back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from jobs.errors import RetryableJobError
from jobs.integrations.models import SentEffect
from jobs.locks import session_lock

MAX_KEY = 255


def normal_key(key: str) -> str:
    """Keys longer than the column keep a readable head and a hash of the whole."""
    if len(key) <= MAX_KEY:
        return key
    return f"{key[:190]}#{hashlib.sha256(key.encode()).hexdigest()}"


def sent(key: str) -> SentEffect | None:
    return SentEffect.objects.filter(key=normal_key(key)).first()


def once(*, key: str | None, kind: str, send: Callable[[], str]) -> str:
    """Run `send` unless an effect with `key` was sent already; returns its external id."""
    if not key:
        return send()
    key = normal_key(key)
    existing = sent(key)
    if existing is not None:
        return existing.external_id
    with session_lock(f"effect:{key}") as taken:
        if not taken:
            raise RetryableJobError(f"Effect {key!r} is being sent by another attempt")
        existing = sent(key)  # the holder before us may have just recorded it
        if existing is not None:
            return existing.external_id
        external_id = send()
        SentEffect.objects.get_or_create(
            key=key, defaults={"kind": kind, "external_id": external_id}
        )
    return external_id
