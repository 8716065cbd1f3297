"""Staff inspection of decisions and what their jobs gathered."""

from __future__ import annotations

from django.contrib import admin

from competitors.models import (
    CompetitorProfile,
    Decision,
    EvidenceItem,
    MarketResearch,
    Option,
    Output,
)
from jobs.admin_tenancy import OrganizationScopedMixin


class OptionInline(admin.TabularInline):
    model = Option
    extra = 0
    fields = ["title", "description", "position", "analyzed_at"]
    readonly_fields = ["analyzed_at"]


@admin.register(Decision)
class DecisionAdmin(OrganizationScopedMixin, admin.ModelAdmin):
    list_display = ["title", "organization", "created_by", "created_at"]
    list_filter = ["organization"]
    search_fields = ["title", "context"]
    inlines = [OptionInline]


@admin.register(CompetitorProfile)
class CompetitorProfileAdmin(OrganizationScopedMixin, admin.ModelAdmin):
    organization_path = "decision__organization"
    list_display = ["company_name", "decision", "threat_level", "offline", "generated_at"]
    list_filter = ["threat_level", "offline"]
    search_fields = ["company_name", "company_url", "job_id"]
    readonly_fields = ["job_id", "generated_at"]


@admin.register(MarketResearch)
class MarketResearchAdmin(OrganizationScopedMixin, admin.ModelAdmin):
    organization_path = "decision__organization"
    list_display = ["query", "decision", "sources_searched", "offline", "generated_at"]
    search_fields = ["query", "job_id"]


@admin.register(EvidenceItem)
class EvidenceItemAdmin(OrganizationScopedMixin, admin.ModelAdmin):
    organization_path = "decision__organization"
    list_display = ["title", "decision", "origin", "stance", "relevance", "created_at"]
    list_filter = ["origin", "stance"]
    search_fields = ["title", "summary", "job_id"]


@admin.register(Output)
class OutputAdmin(OrganizationScopedMixin, admin.ModelAdmin):
    organization_path = "decision__organization"
    list_display = ["title", "decision", "kind", "offline", "generated_at"]
    search_fields = ["title", "job_id"]
