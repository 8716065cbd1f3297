"""Staff views: interviews (with a "run a theme scan" action), themes, and the audit log."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from jobs.admin_tenancy import OrganizationScopedMixin
from jobs.errors import JobAlreadyQueued
from jobs.models import Organization
from themes import services
from themes.models import AuditEntry, Interview, Quote, Theme, ThemeEvidence


def _scan(
    model_admin: admin.ModelAdmin, request: HttpRequest, organization_ids: Any, *, dry_run: bool
) -> None:
    for organization in Organization.objects.filter(id__in=organization_ids):
        try:
            job = services.theme_scan_start(
                organization=organization, dry_run=dry_run, source="admin", user=request.user
            )
        except JobAlreadyQueued:
            model_admin.message_user(
                request, f"A theme scan of {organization} is already queued.", messages.WARNING
            )
            continue
        url = reverse("admin:jobs_job_change", args=[job.id])
        model_admin.message_user(
            request,
            format_html('Theme scan of {} queued: <a href="{}">job {}</a>.', organization, url,
                        job.id),
        )


class QuoteInline(OrganizationScopedMixin, admin.TabularInline):
    organization_path = "interview__organization"
    model = Quote
    extra = 1


@admin.register(Interview)
class InterviewAdmin(OrganizationScopedMixin, admin.ModelAdmin):
    list_display = ["title", "organization", "interviewed_at", "created_at"]
    list_filter = ["organization", "interviewed_at"]
    search_fields = ["title", "transcript", "quotes__text"]
    date_hierarchy = "interviewed_at"
    inlines = [QuoteInline]
    actions = ["run_scan", "run_dry_scan"]

    @admin.action(description="Run a theme scan of these interviews' organizations",
                  permissions=["change"])
    def run_scan(self, request: HttpRequest, queryset: QuerySet[Interview]) -> None:
        _scan(self, request, queryset.values("organization_id"), dry_run=False)

    @admin.action(description="Dry-run a theme scan (writes nothing)", permissions=["change"])
    def run_dry_scan(self, request: HttpRequest, queryset: QuerySet[Interview]) -> None:
        _scan(self, request, queryset.values("organization_id"), dry_run=True)


class EvidenceInline(OrganizationScopedMixin, admin.TabularInline):
    organization_path = "theme__organization"
    model = ThemeEvidence
    extra = 0
    raw_id_fields = ["interview", "quote"]
    readonly_fields = ["created_at"]


@admin.register(Theme)
class ThemeAdmin(OrganizationScopedMixin, admin.ModelAdmin):
    list_display = ["name", "organization", "occurrences", "confidence_score",
                    "last_detected_at"]
    list_filter = ["organization"]
    search_fields = ["name", "slug", "description"]
    readonly_fields = ["created_at", "updated_at", "last_detected_at"]
    inlines = [EvidenceInline]
    actions = ["run_scan"]

    @admin.action(description="Run a theme scan of these themes' organizations",
                  permissions=["change"])
    def run_scan(self, request: HttpRequest, queryset: QuerySet[Theme]) -> None:
        _scan(self, request, queryset.values("organization_id"), dry_run=False)


@admin.register(AuditEntry)
class AuditEntryAdmin(OrganizationScopedMixin, admin.ModelAdmin):
    """Read-only: the audit trail is written by the scanner's executor alone."""

    list_display = ["created_at", "actor", "tool", "action", "entity", "entity_id"]
    list_filter = ["organization", "tool", "action", "entity"]
    search_fields = ["actor", "entity_id"]
    readonly_fields = [f.name for f in AuditEntry._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
