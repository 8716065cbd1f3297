"""Staff views: projects (with a "regenerate" action), suggestions, generation logs."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from jobs.admin_tenancy import OrganizationScopedMixin
from jobs.errors import AdmissionRefused, JobAlreadyQueued
from roadmap import services
from roadmap.models import Project, RoadmapGenerationLog, RoadmapSuggestion


@admin.register(Project)
class ProjectAdmin(OrganizationScopedMixin, admin.ModelAdmin):
    list_display = ["name", "organization", "status", "slack_channel", "jira_project_key"]
    list_filter = ["status", "organization"]
    search_fields = ["name"]
    actions = ["regenerate", "regenerate_scores_only"]

    def _regenerate(
        self, request: HttpRequest, queryset: QuerySet[Project], *, reasoning: bool
    ) -> None:
        for project in queryset.select_related("organization"):
            try:
                job = services.roadmap_regenerate_start(
                    project=project, generate_reasoning=reasoning, source="admin",
                    user=request.user,
                )
            except (JobAlreadyQueued, AdmissionRefused):
                self.message_user(request, f"A regeneration of {project} is already queued.",
                                  messages.WARNING)
                continue
            url = reverse("admin:jobs_job_change", args=[job.id])
            self.message_user(request, format_html(
                'Regeneration of {} queued: <a href="{}">job {}</a>.', project, url, job.id))

    @admin.action(description="Regenerate the roadmap (scores and AI reasoning)",
                  permissions=["change"])
    def regenerate(self, request: HttpRequest, queryset: QuerySet[Project]) -> None:
        self._regenerate(request, queryset, reasoning=True)

    @admin.action(description="Regenerate the roadmap scores only (no AI reasoning)",
                  permissions=["change"])
    def regenerate_scores_only(self, request: HttpRequest, queryset: QuerySet[Project]) -> None:
        self._regenerate(request, queryset, reasoning=False)


@admin.register(RoadmapSuggestion)
class RoadmapSuggestionAdmin(OrganizationScopedMixin, admin.ModelAdmin):
    organization_path = "project__organization"
    list_display = ["theme", "project", "score", "priority_level", "manual_priority_adjustment",
                    "jira_issue_key", "updated_at"]
    list_filter = ["priority_level", "manual_priority_adjustment", "project"]
    list_editable = ["manual_priority_adjustment"]
    search_fields = ["theme__name", "reasoning_text", "jira_issue_key"]
    # Regenerations own these; a person owns manual_priority_adjustment.
    readonly_fields = ["project", "theme", "score", "priority_level", "reasoning_text",
                       "jira_issue_key", "created_at", "updated_at"]


@admin.register(RoadmapGenerationLog)
class RoadmapGenerationLogAdmin(OrganizationScopedMixin, admin.ModelAdmin):
    organization_path = "project__organization"
    list_display = ["created_at", "project", "generation_time_ms", "gpt4_tokens_used",
                    "suggestions", "success"]
    list_filter = ["success", "project"]
    readonly_fields = [f.name for f in RoadmapGenerationLog._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
