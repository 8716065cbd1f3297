"""Interviews and their quotes, the themes found in them, evidence links, and the audit log."""

from __future__ import annotations

import uuid

from django.db import models


class Interview(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "jobs.Organization", on_delete=models.CASCADE, related_name="interviews"
    )
    title = models.CharField(max_length=200)
    interviewed_at = models.DateField()
    transcript = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-interviewed_at", "id"]
        indexes = [
            # The scanner's read: an organization's interviews of the last N days.
            models.Index(fields=["organization", "-interviewed_at"], name="interview_org_date_idx")
        ]

    def __str__(self) -> str:
        return self.title


class Quote(models.Model):
    interview = models.ForeignKey(Interview, on_delete=models.CASCADE, related_name="quotes")
    text = models.TextField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.text[:60]


class Theme(models.Model):
    organization = models.ForeignKey(
        "jobs.Organization", on_delete=models.CASCADE, related_name="themes"
    )
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200)
    description = models.TextField(blank=True, default="")
    confidence_score = models.FloatField(default=0)
    # Distinct interviews linked as evidence (every scan's links, not only the last one's).
    occurrences = models.PositiveIntegerField(default=0)
    # When a (non-dry) scan last found it.
    last_detected_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-occurrences", "name"]
        constraints = [
            # The scanner upserts by slug: one theme per slug and organization.
            models.UniqueConstraint(fields=["organization", "slug"], name="unique_theme_slug")
        ]

    def __str__(self) -> str:
        return self.name


class ThemeEvidence(models.Model):
    """A link from a theme to an interview, and to the quote that shows it (if any)."""

    theme = models.ForeignKey(Theme, on_delete=models.CASCADE, related_name="evidence")
    interview = models.ForeignKey(Interview, on_delete=models.CASCADE, related_name="evidence")
    quote = models.ForeignKey(Quote, null=True, blank=True, on_delete=models.CASCADE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            # NULLS NOT DISTINCT: a link without a quote is unique too, so a
            # second scan cannot add it again.
            models.UniqueConstraint(
                fields=["theme", "interview", "quote"],
                name="unique_theme_evidence",
                nulls_distinct=False,
            )
        ]

    def __str__(self) -> str:
        return f"{self.theme_id} <- {self.interview_id}/{self.quote_id}"


class AuditEntry(models.Model):
    """One write made through the scanner's tool executor: who, which tool, before, after."""

    organization = models.ForeignKey("jobs.Organization", on_delete=models.CASCADE)
    job = models.ForeignKey(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor = models.CharField(max_length=150)  # "job:<id>", or a user / command name
    tool = models.CharField(max_length=64)
    action = models.CharField(max_length=32)  # create / update / link
    entity = models.CharField(max_length=32)
    entity_id = models.CharField(max_length=64)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["organization", "-created_at"], name="audit_org_idx")]

    def __str__(self) -> str:
        return f"{self.actor} {self.tool} {self.entity} {self.entity_id}"
