from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
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


class OrganizationIntegrationSettings(models.Model):
    """Where one organization's projects may send Slack messages and Jira issues.

    Set by staff in the admin. The shared bot posts for every tenant, so a
    project's `slack_channel` and `jira_project_key` must be on its
    organization's lists (an empty list allows none: only the deployment's
    defaults, SLACK_DEFAULT_CHANNEL and JIRA_PROJECT_KEY, used by projects
    that name none).
    """

    organization = models.OneToOneField(
        "jobs.Organization", on_delete=models.CASCADE, primary_key=True,
        related_name="integration_settings",
    )
    slack_channels = ArrayField(
        models.CharField(max_length=100), blank=True, default=list,
        help_text="Slack channels this organization's projects may post to, comma separated "
        "(#name or channel id)",
    )
    jira_project_keys = ArrayField(
        models.CharField(max_length=32), blank=True, default=list,
        help_text="Jira project keys this organization's projects may open issues in, "
        "comma separated",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "organization integration settings"
        verbose_name_plural = "organization integration settings"

    def __str__(self) -> str:
        return f"Integrations of {self.organization}"


def normalize_slack_channel(channel: str) -> str:
    return channel.strip().lstrip("#").lower()


def normalize_jira_key(key: str) -> str:
    return key.strip().upper()
