from django.urls import path

from reports import api, views

urlpatterns = [
    path("api/report-builder/jobs", api.AnalysisJobListCreate.as_view(), name="report-jobs"),
    path("api/report-builder/jobs/<uuid:job_id>", api.AnalysisJobDetail.as_view(),
         name="report-job"),
    path("api/report-builder/documents", api.DocumentListCreate.as_view(),
         name="report-documents"),
    path("api/report-builder/documents/<uuid:document_id>", api.DocumentDetail.as_view(),
         name="report-document"),
    path("api/report-builder/documents/<uuid:document_id>/blocks", api.BlockListCreate.as_view(),
         name="report-blocks"),
    path("api/report-builder/documents/<uuid:document_id>/blocks/<uuid:block_id>",
         api.BlockDetail.as_view(), name="report-block"),
    path("api/report-builder/documents/<uuid:document_id>/blocks/<uuid:block_id>/revisions",
         api.BlockRevisionList.as_view(), name="report-block-revisions"),
    path("api/report-builder/documents/<uuid:document_id>/context",
         api.ContextItemCreate.as_view(), name="report-context"),
    path("report-builder/", views.document_list, name="report-builder"),
    path("report-builder/<uuid:document_id>", views.editor, name="report-editor"),
    path("report-builder/<uuid:document_id>/blocks", views.block_add, name="report-block-add"),
    path("report-builder/<uuid:document_id>/context", views.context_add,
         name="report-context-add"),
]
