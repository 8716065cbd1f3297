from __future__ import annotations

from django.db import models


class SentEffect(models.Model):
    """An effect outside Postgres (a Slack post, a Jira issue), sent or in doubt.

    Keyed by the caller's idempotency key, so a retried job finds it and does
    not post twice or open a second issue. A row is written as `sending`
    (committed) before the request goes out and becomes `sent`, with the
    external id, once the service answered; a row still `sending` when an
    attempt starts means an earlier attempt's outcome is unknown, and the
    service is asked first (see `jobs.integrations.effects`).
    """

    class State(models.TextChoices):
        SENDING = "sending", "in doubt (sending)"
        SENT = "sent", "sent"

    key = models.CharField(max_length=255, unique=True)
    kind = models.CharField(max_length=32)
    state = models.CharField(max_length=16, choices=State.choices, default=State.SENT)
    external_id = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.kind} {self.key} ({self.state}) -> {self.external_id}"
