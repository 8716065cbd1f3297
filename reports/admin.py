from django.contrib import admin

from jobs.admin_tenancy import OrganizationScopedMixin
from reports.models import AnalysisJob, Block, ContextItem, Document, Revision


class BlockInline(admin.StackedInline):
    model = Block
    extra = 0


class ContextInline(admin.TabularInline):
    model = ContextItem
    extra = 0


@admin.register(Document)
class DocumentAdmin(OrganizationScopedMixin, admin.ModelAdmin):
    list_display = ["title", "organization", "created_at"]
    inlines = [ContextInline, BlockInline]


@admin.register(AnalysisJob)
class AnalysisJobAdmin(OrganizationScopedMixin, admin.ModelAdmin):
    organization_path = "document__organization"
    list_display = ["job", "type", "document", "block"]
    list_select_related = ["job", "document", "block"]


@admin.register(Revision)
class RevisionAdmin(OrganizationScopedMixin, admin.ModelAdmin):
    organization_path = "block__document__organization"
    list_display = ["block", "source", "job", "created_at"]
