from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("", include("web.urls")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/", include("jobs.api.urls")),
    path("", include("jobs.urls")),
    path("", include("themes.urls")),
    path("", include("roadmap.urls")),
    path("", include("warmup.urls")),
    path("", include("reports.urls")),
    path("", include("competitors.urls")),
    path("", include("ops.urls")),
]

# Under /api/, Django's own 400/403/404/500 answers are JSON too (jobs.api.errors).
handler400 = "jobs.api.errors.bad_request"
handler403 = "jobs.api.errors.permission_denied"
handler404 = "jobs.api.errors.page_not_found"
handler500 = "jobs.api.errors.server_error"
