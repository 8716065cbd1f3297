from django.urls import path

from themes import api

urlpatterns = [
    path("api/internal/jobs/theme-scan", api.ThemeScanView.as_view(), name="theme-scan"),
    path("api/interviews", api.InterviewListCreate.as_view(), name="interviews"),
    path("api/interviews/<uuid:pk>", api.InterviewDetail.as_view(), name="interview"),
    path("api/themes", api.ThemeList.as_view(), name="themes"),
    path("api/themes/audit-entries", api.AuditEntryList.as_view(), name="theme-audit"),
    path("api/themes/<int:pk>", api.ThemeDetail.as_view(), name="theme"),
]
