from django.contrib import admin

from jobs.integrations.models import SentEffect


@admin.register(SentEffect)
class SentEffectAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "state", "key", "external_id"]
    list_filter = ["kind", "state"]
    search_fields = ["key", "external_id"]
    readonly_fields = [f.name for f in SentEffect._meta.fields]
