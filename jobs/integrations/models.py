from __future__ import annotations

from django.db import models


class SentEffect(models.Model):
    """An effect outside Postgres that happened (a Slack post, a Jira issue).

    Keyed by the caller's idempotency key, so a retried job finds it and does
    not post twice or open a second issue.
    """

    key = models.CharField(max_length=255, unique=True)
    kind = models.CharField(max_length=32)
    external_id = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.kind} {self.key} -> {self.external_id}"
