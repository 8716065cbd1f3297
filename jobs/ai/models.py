"""Generation logs (one row per LLM call) and the shared rate-limit budgets."""

from __future__ import annotations

from django.db import models


class GenerationLog(models.Model):
    """Every LLM call: who asked, which model, how many tokens, how long, how it ended.

    The roadmap seed's monitoring query (runs, average time, total tokens and
    successful runs per day over 30 days) reads this table; see
    `jobs.ai.selectors.generation_stats`.
    """

    job = models.ForeignKey(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="generations"
    )
    purpose = models.CharField(max_length=64, blank=True, default="")
    provider = models.CharField(max_length=16)
    model = models.CharField(max_length=100, blank=True, default="")
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    duration_ms = models.PositiveIntegerField(default=0)
    # Time spent waiting for the shared rate limit before the call (not in duration_ms).
    wait_ms = models.PositiveIntegerField(default=0)
    limiter_key = models.CharField(max_length=100, blank=True, default="")
    success = models.BooleanField(default=False)
    offline = models.BooleanField(default=False)
    error = models.TextField(blank=True, default="")
    error_kind = models.CharField(max_length=32, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["created_at"], name="genlog_created_idx"),
            models.Index(fields=["purpose", "created_at"], name="genlog_purpose_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.model} {self.purpose} ({'ok' if self.success else 'failed'})"

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class RateLimitBucket(models.Model):
    """One shared budget: the instant it is used up to (GCRA's arrival time).

    Every worker on every machine reserves its slot with one UPDATE on this
    row, so "1 request per second" holds across the cluster. Tokens-per-minute
    budgets live here too, under `tokens:<key>`. See `jobs.ai.ratelimit`.
    """

    key = models.CharField(max_length=100, primary_key=True)
    next_slot_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.key
