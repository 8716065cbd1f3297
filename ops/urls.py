from django.urls import path

from ops import views

urlpatterns = [
    path("metrics", views.metrics_view, name="metrics"),
    path("api/ops/summary", views.OpsSummary.as_view(), name="ops-summary"),
    path("ops/", views.dashboard, name="ops-dashboard"),
]
