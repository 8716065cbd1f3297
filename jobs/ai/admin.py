from django.contrib import admin

from jobs.ai.models import GenerationLog, RateLimitBucket


@admin.register(GenerationLog)
class GenerationLogAdmin(admin.ModelAdmin):
    list_display = ["created_at", "purpose", "provider", "model", "prompt_tokens",
                    "completion_tokens", "duration_ms", "success", "offline"]
    list_filter = ["provider", "success", "offline", "purpose"]
    search_fields = ["purpose", "error", "model"]
    readonly_fields = [f.name for f in GenerationLog._meta.fields]


@admin.register(RateLimitBucket)
class RateLimitBucketAdmin(admin.ModelAdmin):
    list_display = ["key", "next_slot_at", "updated_at"]
