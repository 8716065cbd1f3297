"""Alert state and history, and queue-depth samples for the dashboard's charts."""

from __future__ import annotations

from django.db import models


class AlertState(models.Model):
    """Whether an alert's condition holds now; transitions are what get sent."""

    key = models.CharField(max_length=100, primary_key=True)
    active = models.BooleanField(default=False)
    since = models.DateTimeField(null=True, blank=True)
    value = models.FloatField(default=0)
    message = models.TextField(blank=True, default="")

    def __str__(self) -> str:
        return f"{self.key} ({'active' if self.active else 'clear'})"


class AlertEvent(models.Model):
    """The alert history: one row when an alert fires and one when it clears."""

    class Action(models.TextChoices):
        FIRED = "fired"
        CLEARED = "cleared"

    class Delivery(models.TextChoices):
        PENDING = "pending"  # not sent yet (or a retryable Slack error: sent next minute)
        SENT = "sent"
        SKIPPED = "skipped"  # Slack not configured when it fired
        FAILED = "failed"  # a permanent Slack error, or still unsent after a day

    key = models.CharField(max_length=100)
    severity = models.CharField(max_length=16)
    action = models.CharField(max_length=16, choices=Action.choices)
    message = models.TextField()
    value = models.FloatField(default=0)
    delivery = models.CharField(max_length=16, choices=Delivery.choices, default=Delivery.PENDING)
    delivery_error = models.TextField(blank=True, default="")
    # PagerDuty (ops.pagerduty): "" when it does not page (not configured, or not a
    # paging severity), else pending until sent, then sent or failed.
    pager_delivery = models.CharField(max_length=16, blank=True, default="")
    pager_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at"], name="alertevent_created_idx"),
            models.Index(fields=["id"], name="alertevent_undelivered_idx",
                         condition=models.Q(delivery="pending")),
            models.Index(fields=["id"], name="alertevent_unpaged_idx",
                         condition=models.Q(pager_delivery="pending")),
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.action}"


class QueueSample(models.Model):
    """The queue depth once a minute, for the dashboard's 24-hour chart."""

    taken_at = models.DateTimeField(auto_now_add=True, db_index=True)
    pending = models.PositiveIntegerField()
    running = models.PositiveIntegerField()
    todo = models.PositiveIntegerField()  # Procrastinate rows waiting, every queue
    todo_by_queue = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"{self.taken_at:%H:%M} pending {self.pending}"


class DurationBaseline(models.Model):
    """A job type's trailing 7-day P95 duration: the "normal" the P95 alert compares with.

    Computing it reads a week of finished jobs (about a second at two million
    rows), so it is stored and recomputed at most every
    OPS_BASELINE_REFRESH_SECONDS rather than on every evaluation or scrape.
    """

    type = models.CharField(max_length=64, primary_key=True)
    p95_seconds = models.FloatField(null=True)
    samples = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.type}: P95 {self.p95_seconds} s over {self.samples} jobs"
