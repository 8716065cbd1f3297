"""Decisions and what the AI jobs gather for them.

A `Decision` belongs to an organization; its options, competitor profiles,
market research, evidence items and outputs (briefs) hang off it. Rows that a
job writes carry the job's id (`job_id`, unique where one job writes one row),
so a job that runs twice writes the same rows once.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class Decision(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "jobs.Organization", on_delete=models.CASCADE, related_name="decisions"
    )
    title = models.CharField(max_length=200)
    context = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "-created_at"], name="decision_org_idx")]

    def __str__(self) -> str:
        return self.title


class Option(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    decision = models.ForeignKey(Decision, on_delete=models.CASCADE, related_name="options")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    position = models.PositiveIntegerField(default=0)
    # Written by option_analysis: {summary, pros, cons, risks, score, recommendation}.
    ai_analysis = models.JSONField(null=True, blank=True)
    analysis_job_id = models.UUIDField(null=True, blank=True)
    analyzed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "created_at"]

    def __str__(self) -> str:
        return self.title


class CompetitorProfile(models.Model):
    class ThreatLevel(models.TextChoices):
        LOW = "low"
        MEDIUM = "medium"
        HIGH = "high"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    decision = models.ForeignKey(
        Decision, on_delete=models.CASCADE, related_name="competitor_profiles"
    )
    job_id = models.UUIDField(null=True, blank=True, unique=True)
    company_name = models.CharField(max_length=200)
    company_url = models.URLField(max_length=500)
    status = models.CharField(max_length=16, default="complete")
    summary = models.TextField(blank=True, default="")
    positioning = models.TextField(blank=True, default="")
    target_customers = models.TextField(blank=True, default="")
    pricing = models.TextField(blank=True, default="")
    products = models.JSONField(default=list, blank=True)
    strengths = models.JSONField(default=list, blank=True)
    weaknesses = models.JSONField(default=list, blank=True)
    threat_level = models.CharField(
        max_length=8, choices=ThreatLevel.choices, default=ThreatLevel.MEDIUM
    )
    implications = models.TextField(blank=True, default="")
    # What the profile was built from: the website's title, news and reviews found.
    website = models.JSONField(default=dict, blank=True)
    recent_news = models.JSONField(default=list, blank=True)
    review_highlights = models.JSONField(default=list, blank=True)
    offline = models.BooleanField(default=False)
    provider = models.CharField(max_length=32, blank=True, default="")
    model = models.CharField(max_length=100, blank=True, default="")
    generated_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-generated_at"]

    def __str__(self) -> str:
        return self.company_name


class MarketResearch(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    decision = models.ForeignKey(Decision, on_delete=models.CASCADE, related_name="market_research")
    job_id = models.UUIDField(null=True, blank=True, unique=True)
    query = models.CharField(max_length=300)
    summary = models.TextField(blank=True, default="")
    market_size = models.TextField(blank=True, default="")
    trends = models.JSONField(default=list, blank=True)
    sources_searched = models.PositiveIntegerField(default=0)
    offline = models.BooleanField(default=False)
    generated_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-generated_at"]
        verbose_name_plural = "market research"

    def __str__(self) -> str:
        return self.query


class EvidenceItem(models.Model):
    class Origin(models.TextChoices):
        MARKET_RESEARCH = "market_research"
        EVIDENCE_SEARCH = "evidence_search"
        MANUAL = "manual"

    class Stance(models.TextChoices):
        SUPPORTS = "supports"
        OPPOSES = "opposes"
        NEUTRAL = "neutral"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    decision = models.ForeignKey(Decision, on_delete=models.CASCADE, related_name="evidence_items")
    market_research = models.ForeignKey(
        MarketResearch, null=True, blank=True, on_delete=models.CASCADE,
        related_name="evidence_items",
    )
    origin = models.CharField(max_length=20, choices=Origin.choices)
    job_id = models.UUIDField(null=True, blank=True)
    position = models.PositiveIntegerField(default=0)
    query = models.CharField(max_length=300, blank=True, default="")
    title = models.CharField(max_length=300)
    summary = models.TextField(blank=True, default="")
    stance = models.CharField(max_length=10, choices=Stance.choices, default=Stance.NEUTRAL)
    relevance = models.FloatField(default=0.5)
    source_title = models.CharField(max_length=300, blank=True, default="")
    source_url = models.URLField(max_length=500, blank=True, default="")
    offline = models.BooleanField(default=False)
    # One timestamp for a job's batch, so its items list in their positions' order.
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "position"]
        constraints = [
            # One row per (job, position): a job that runs twice writes its items once.
            models.UniqueConstraint(fields=["job_id", "position"], name="evidence_job_position")
        ]
        indexes = [models.Index(fields=["decision", "-created_at"], name="evidence_decision_idx")]

    def __str__(self) -> str:
        return self.title


class Output(models.Model):
    """Something written for a decision: a brief (the seed's "Output with content")."""

    class Kind(models.TextChoices):
        BRIEF = "brief"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    decision = models.ForeignKey(Decision, on_delete=models.CASCADE, related_name="outputs")
    job_id = models.UUIDField(null=True, blank=True, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.BRIEF)
    title = models.CharField(max_length=300)
    content = models.TextField()
    offline = models.BooleanField(default=False)
    provider = models.CharField(max_length=32, blank=True, default="")
    model = models.CharField(max_length=100, blank=True, default="")
    generated_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-generated_at"]

    def __str__(self) -> str:
        return self.title
