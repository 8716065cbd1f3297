from django.contrib import admin

from jobs.admin_tenancy import OrganizationScopedMixin
from jobs.integrations.models import OrganizationIntegrationSettings, SentEffect


@admin.register(SentEffect)
class SentEffectAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "state", "key", "external_id"]
    list_filter = ["kind", "state"]
    search_fields = ["key", "external_id"]
    readonly_fields = [f.name for f in SentEffect._meta.fields]


@admin.register(OrganizationIntegrationSettings)
class OrganizationIntegrationSettingsAdmin(OrganizationScopedMixin, admin.ModelAdmin):
    """Where each organization's projects may post (Slack) and open issues (Jira)."""

    list_display = ["organization", "slack_channels", "jira_project_keys", "updated_at"]
    search_fields = ["organization__name", "organization__slug"]
