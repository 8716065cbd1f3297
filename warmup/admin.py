from typing import Any

from django.contrib import admin, messages

from warmup import names, services
from warmup.models import CachedForecast, CachedInsight, Comparison


@admin.register(Comparison)
class ComparisonAdmin(admin.ModelAdmin):
    list_display = ["slug", "term_a", "term_b", "view_count", "last_visited_at", "data_hash",
                    "created_at"]
    search_fields = ["slug", "term_a", "term_b"]
    readonly_fields = ["data_hash", "created_at", "updated_at"]
    actions = ["warm_up", "warm_up_forecasts_now", "warm_up_ai_explanations_now"]

    # Comparisons are global (public search terms, no organization): every staff
    # member sees them; starting warmups, which run for hours, takes run_warmup.
    def has_run_warmup_permission(self, request: Any) -> bool:
        return bool(request.user.has_perm("warmup.run_warmup"))

    @admin.action(description="Warm up the selected comparisons (on demand)",
                  permissions=["run_warmup"])
    def warm_up(self, request: Any, queryset: Any) -> None:
        for comparison in queryset:
            job, queued = services.on_demand_start(comparison=comparison, source="admin")
            state = "queued" if queued else "already queued or running"
            self.message_user(request, f"{comparison}: warmup {state} ({job.id if job else '-'})")

    def _run_now(self, request: Any, job_type: str) -> None:
        try:
            job = services.warmup_start(job_type=job_type, source="admin")
        except services.WarmupBusy as busy:
            self.message_user(request, str(busy), messages.WARNING)
            return
        self.message_user(request, f"{job_type} queued: job {job.id}")

    @admin.action(description="Run the nightly forecast warmup now (ignores the selection)",
                  permissions=["run_warmup"])
    def warm_up_forecasts_now(self, request: Any, queryset: Any) -> None:
        self._run_now(request, names.FORECASTS)

    @admin.action(description="Run the weekly AI explanation warmup now (ignores the selection)",
                  permissions=["run_warmup"])
    def warm_up_ai_explanations_now(self, request: Any, queryset: Any) -> None:
        self._run_now(request, names.AI_EXPLANATIONS)


@admin.register(CachedForecast)
class CachedForecastAdmin(admin.ModelAdmin):
    list_display = ["comparison", "data_hash", "computed_at", "fresh_until", "stale_until"]
    list_select_related = ["comparison"]
    search_fields = ["comparison__slug"]


@admin.register(CachedInsight)
class CachedInsightAdmin(admin.ModelAdmin):
    list_display = ["comparison", "data_hash", "provider", "offline", "computed_at",
                    "fresh_until", "stale_until"]
    list_select_related = ["comparison"]
    list_filter = ["provider", "offline"]
    search_fields = ["comparison__slug"]
