from django.urls import path

from roadmap import api

urlpatterns = [
    path("api/roadmap/generate", api.RoadmapGenerate.as_view(), name="roadmap-generate"),
    path("api/roadmap/generation-stats", api.GenerationStats.as_view(),
         name="roadmap-generation-stats"),
    path("api/roadmap/projects", api.ProjectListCreate.as_view(), name="roadmap-projects"),
    path("api/roadmap/projects/<uuid:pk>", api.ProjectDetail.as_view(), name="roadmap-project"),
    path("api/roadmap/projects/<uuid:project_id>/suggestions",
         api.SuggestionListCreate.as_view(), name="roadmap-suggestions"),
    path("api/roadmap/suggestions/<int:pk>", api.SuggestionDetail.as_view(),
         name="roadmap-suggestion"),
]
