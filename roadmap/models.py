"""Projects, roadmap suggestions scored from themes, and roadmap generation logs."""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from jobs.integrations.targets import integration_targets_check


class Project(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        ARCHIVED = "archived"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "jobs.Organization", on_delete=models.CASCADE, related_name="projects"
    )
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    # Where critical items are announced (empty: SLACK_DEFAULT_CHANNEL).
    slack_channel = models.CharField(max_length=100, blank=True, default="")
    # Where epics for critical and high items go (empty: JIRA_PROJECT_KEY).
    jira_project_key = models.CharField(max_length=32, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        # The admin's form (the API checks in its view): the organization's
        # integration settings bound where the shared bot may post.
        refused = integration_targets_check(
            organization_id=self.organization_id, slack_channel=self.slack_channel,
            jira_project_key=self.jira_project_key,
        )
        if refused:
            raise ValidationError(refused)


class Priority(models.TextChoices):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class RoadmapSuggestion(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="suggestions")
    theme = models.ForeignKey("themes.Theme", on_delete=models.CASCADE, related_name="suggestions")
    score = models.FloatField(default=0)
    # Computed by every regeneration from the score.
    priority_level = models.CharField(
        max_length=16, choices=Priority.choices, default=Priority.LOW
    )
    # A person's choice: no regeneration ever writes it. NULL means none (the
    # seed's `.is('manual_priority_adjustment', null)`), not an empty string.
    manual_priority_adjustment = models.CharField(  # noqa: DJ001
        max_length=16, choices=Priority.choices, null=True, blank=True
    )
    reasoning_text = models.TextField(blank=True, default="")
    # A hash of the provider and prompt that wrote reasoning_text: a
    # regeneration asks again only when the facts behind it changed.
    reasoning_key = models.CharField(max_length=64, blank=True, default="", editable=False)
    jira_issue_key = models.CharField(max_length=32, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-score", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "theme"], name="unique_suggestion")
        ]

    def __str__(self) -> str:
        return f"{self.theme} ({self.effective_priority})"

    @property
    def effective_priority(self) -> str:
        return self.manual_priority_adjustment or self.priority_level


class RoadmapGenerationLog(models.Model):
    """One row per regeneration run (the seed's roadmap_generation_logs)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="generation_logs")
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL)
    generation_time_ms = models.PositiveIntegerField(default=0)
    gpt4_tokens_used = models.PositiveIntegerField(default=0)  # the seed's name: any model's
    suggestions = models.PositiveIntegerField(default=0)
    success = models.BooleanField(default=False)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["created_at"], name="roadmap_genlog_created_idx")]

    def __str__(self) -> str:
        outcome = "ok" if self.success else "failed"
        return f"{self.project} {self.created_at:%Y-%m-%d %H:%M} ({outcome})"
