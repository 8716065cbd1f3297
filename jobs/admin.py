"""Staff inspection of jobs: filters, progress, events and steps, retry and cancel."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html

from jobs import lifecycle
from jobs.admin_tenancy import OrganizationScopedMixin
from jobs.errors import AdmissionRefused, InvalidTransition, JobAlreadyQueued
from jobs.models import Job, JobEvent, JobStep, Membership, Organization, RunLog


def pretty_json(value: Any) -> str:
    """JSON indented for reading (display only)."""
    if value is None:
        return "—"
    return format_html(
        '<pre style="white-space:pre-wrap;overflow-wrap:anywhere;max-height:24em;'
        'overflow:auto;margin:0">{}</pre>',
        json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True))


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
    fields = ["name", "attempt", "duration_ms", "result_pretty", "created_at"]
    readonly_fields = fields  # type: ignore[assignment]  # flat: no field groups

    @admin.display(description="Result")
    def result_pretty(self, step: JobStep) -> str:
        return pretty_json(step.result)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Job)
class JobAdmin(OrganizationScopedMixin, admin.ModelAdmin):
    list_display = [
        "short_id",
        "type",
        "status_and_attempts",
        "progress_bar",
        "details",
        "organization",
        "user",
        "created",
    ]
    list_display_links = ["short_id"]
    change_form_template = "admin/jobs/job/change_form.html"
    list_filter = ["status", "type", "organization", "source", "error_kind", "created_at"]
    search_fields = ["id", "type", "status_message", "error", "scope"]
    date_hierarchy = "created_at"
    list_select_related = ["organization", "user"]
    JSON_FIELDS = ("input", "output")
    readonly_fields = [f.name for f in Job._meta.fields] + [
        "progress_bar", "input_pretty", "output_pretty"]
    inlines = [JobStepInline, JobEventInline]
    actions = ["retry_jobs", "cancel_jobs"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        """Every field, the JSON ones shown indented (display only)."""
        fields: list[str] = []
        for f in Job._meta.fields:
            fields.append(f"{f.name}_pretty" if f.name in self.JSON_FIELDS else f.name)
        return fields + ["progress_bar"]

    @admin.display(description="ID", ordering="id")
    def short_id(self, job: Job) -> str:
        return format_html('<code title="{}">{}</code>', job.id, str(job.id)[:8])

    @admin.display(description="Status", ordering="status")
    def status_and_attempts(self, job: Job) -> str:
        tries = f" · {job.attempts} tries" if job.attempts > 1 else ""
        return format_html('<span style="white-space:nowrap">{}{}</span>',
                           job.get_status_display(), tries)

    @admin.display(description="Created", ordering="created_at")
    def created(self, job: Job) -> str:
        return format_html('<span style="white-space:nowrap" title="{}">{}</span>',
                           job.created_at.isoformat(),
                           timezone.localtime(job.created_at).strftime("%d %b %H:%M"))

    @admin.display(description="Message or error")
    def details(self, job: Job) -> str:
        if job.status == "failed" and job.error:
            text = job.error if len(job.error) <= 80 else job.error[:79] + "…"
            return format_html('<span style="color:#b42318;display:inline-block;max-width:15em" '
                               'title="{}">{}</span>', job.error, text)
        return job.status_message

    @admin.display(description="Input")
    def input_pretty(self, job: Job) -> str:
        return pretty_json(job.input)

    @admin.display(description="Output")
    def output_pretty(self, job: Job) -> str:
        return pretty_json(job.output)

    @admin.display(description="Progress")
    def progress_bar(self, job: Job) -> str:
        return format_html(
            '<span style="white-space:nowrap"><progress value="{}" max="100" '
            'style="width:4.5em"></progress> {}%</span>',
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
