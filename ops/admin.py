"""Alert state and history in the admin (read-only: the evaluator owns these rows)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from ops.models import AlertEvent, AlertState


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AlertState)
class AlertStateAdmin(ReadOnly):
    list_display = ["key", "active", "since", "value", "message"]
    list_filter = ["active"]


@admin.register(AlertEvent)
class AlertEventAdmin(ReadOnly):
    list_display = ["created_at", "key", "severity", "action", "delivery", "message"]
    list_filter = ["action", "severity", "delivery"]
    search_fields = ["key", "message"]
    date_hierarchy = "created_at"
