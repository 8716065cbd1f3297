from django.urls import path

from jobs.api import views
from jobs.api.stream import job_events

urlpatterns = [
    path("health", views.health, name="health"),
    path("jobs", views.JobListCreateView.as_view(), name="job-list"),
    path("jobs/types", views.JobTypeListView.as_view(), name="job-types"),
    path("jobs/<uuid:job_id>", views.JobDetailView.as_view(), name="job-detail"),
    path("jobs/<uuid:job_id>/retry", views.JobRetryView.as_view(), name="job-retry"),
    path("jobs/<uuid:job_id>/events-log", views.JobEventListView.as_view(), name="job-events-log"),
    path("jobs/<uuid:job_id>/events", job_events, name="job-events"),
]
