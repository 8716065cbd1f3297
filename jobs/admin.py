"""Staff inspection of jobs: filters, progress, events and steps, retry and cancel."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from jobs import lifecycle
from jobs.admin_tenancy import OrganizationScopedMixin
from jobs.errors import AdmissionRefused, InvalidTransition, JobAlreadyQueued
from jobs.models import Job, JobEvent, JobStep, Membership, Organization, RunLog


class MembershipInline(OrganizationScopedMixin, admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(OrganizationScopedMixin, admin.ModelAdmin):
    organization_path = "id"
    list_display = ["name", "slug", "is_active", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


class JobEventInline(admin.TabularInline):
    model = JobEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "kind", "from_status", "to_status", "progress", "message", "actor"]
    readonly_fields = fields  # type: ignore[assignment]  # flat: no field groups
    ordering = ["id"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class JobStepInline(admin.TabularInline):
    model = JobStep
    extra = 0
    can_delete = False
    fields = ["name", "attempt", "duration_ms", "result", "created_at"]
    readonly_fields = fields  # type: ignore[assignment]  # flat: no field groups

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Job)
class JobAdmin(OrganizationScopedMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "type",
        "status",
        "progress_bar",
        "status_message",
        "attempts",
        "organization",
        "user",
        "created_at",
    ]
    list_filter = ["status", "type", "organization", "source", "error_kind", "created_at"]
    search_fields = ["id", "type", "status_message", "error", "scope"]
    date_hierarchy = "created_at"
    list_select_related = ["organization", "user"]
    readonly_fields = [f.name for f in Job._meta.fields] + ["progress_bar"]
    inlines = [JobStepInline, JobEventInline]
    actions = ["retry_jobs", "cancel_jobs"]

    @admin.display(description="Progress")
    def progress_bar(self, job: Job) -> str:
        return format_html(
            '<progress value="{}" max="100" style="width:8em"></progress> {}%',
            job.progress,
            job.progress,
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    # The actions' permissions (the admin shows jobs read-only, so not "change").
    def has_retry_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("jobs.retry_job"))

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("jobs.cancel_job"))

    @admin.action(description="Retry selected failed or cancelled jobs",
                  permissions=["retry"])
    def retry_jobs(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        done, refused = 0, []
        for job in queryset:
            try:
                lifecycle.job_retry(job.id, actor=request.user.get_username(), enforce_limits=False)
                done += 1
            except (InvalidTransition, AdmissionRefused, JobAlreadyQueued) as exc:
                refused.append(f"{job.id}: {exc}")
        if done:
            self.message_user(request, f"Queued {done} job(s) again.", messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.WARNING)

    @admin.action(description="Cancel selected active jobs", permissions=["cancel"])
    def cancel_jobs(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        done, refused = 0, []
        for job in queryset:
            try:
                lifecycle.job_cancel(job.id, actor=request.user.get_username())
                done += 1
            except InvalidTransition as exc:
                refused.append(f"{job.id}: {exc}")
        if done:
            self.message_user(request, f"Cancelled (or asked to stop) {done} job(s).")
        for line in refused:
            self.message_user(request, line, messages.WARNING)


@admin.register(RunLog)
class RunLogAdmin(admin.ModelAdmin):
    list_display = ["job_type", "status", "processed", "failed", "duration_ms", "started_at"]
    list_filter = ["job_type", "status"]
    readonly_fields = [f.name for f in RunLog._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
