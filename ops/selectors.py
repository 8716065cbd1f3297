"""Reads of the ops app's own tables."""

from __future__ import annotations

from django.db.models import QuerySet

from ops.models import AlertEvent, AlertState


def alerts_active() -> QuerySet[AlertState]:
    return AlertState.objects.filter(active=True).order_by("since")


def alerts_recent(*, limit: int = 20) -> list[AlertEvent]:
    """The newest alert events (index: alertevent_created_idx)."""
    return list(AlertEvent.objects.order_by("-created_at", "-id")[:limit])
