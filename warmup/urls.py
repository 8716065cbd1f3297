from django.urls import path

from warmup import api

urlpatterns = [
    path("api/jobs/warmup-forecasts", api.WarmupForecasts.as_view(), name="warmup-forecasts"),
    path("api/jobs/warmup-ai-explanations", api.WarmupAIExplanations.as_view(),
         name="warmup-ai-explanations"),
    path("api/jobs/warmup-runs", api.WarmupRuns.as_view(), name="warmup-runs"),
    path("api/comparison/warmup", api.ComparisonWarmup.as_view(), name="comparison-warmup"),
    path("api/comparison/premium", api.ComparisonPremium.as_view(), name="comparison-premium"),
    path("api/comparisons", api.ComparisonListCreate.as_view(), name="comparisons"),
    path("api/comparisons/<slug:slug>", api.ComparisonDetail.as_view(), name="comparison"),
    path("api/comparisons/<slug:slug>/series", api.ComparisonSeries.as_view(),
         name="comparison-series"),
]
