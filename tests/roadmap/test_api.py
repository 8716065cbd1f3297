"""Projects, suggestions and the generation statistics through the API."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from jobs.integrations.models import OrganizationIntegrationSettings
from roadmap.models import Project, RoadmapGenerationLog, RoadmapSuggestion
from tests.roadmap.builders import scored_themes
from tests.themes.builders import theme

pytestmark = pytest.mark.django_db


def test_members_create_and_list_projects(api, org):
    OrganizationIntegrationSettings.objects.create(
        organization=org, slack_channels=["#new"], jira_project_keys=["NEW"])
    created = api.post("/api/roadmap/projects", {"name": "New", "slack_channel": "#new",
                                                 "jira_project_key": "NEW"}, format="json")

    assert created.status_code == 201
    body = created.json()
    assert (body["organization"], body["status"]) == (str(org.id), "active")
    assert [p["name"] for p in api.get("/api/roadmap/projects").json()["results"]] == ["New"]
    assert api.get(f"/api/roadmap/projects/{body['id']}").status_code == 200
    assert api.post("/api/roadmap/projects", {"status": "sleeping"},
                    format="json").json().keys() >= {"name", "status"}


def test_projects_and_suggestions_of_another_organization_are_404(api, other_org):
    theirs = Project.objects.create(organization=other_org, name="Theirs")
    suggestion = RoadmapSuggestion.objects.create(project=theirs,
                                                  theme=theme(other_org, "X", 1, 0.5))

    assert api.get(f"/api/roadmap/projects/{theirs.id}").status_code == 404
    assert api.get(f"/api/roadmap/projects/{theirs.id}/suggestions").status_code == 404
    assert api.post(f"/api/roadmap/projects/{theirs.id}/suggestions", {"theme": 1},
                    format="json").status_code == 404
    assert api.get(f"/api/roadmap/suggestions/{suggestion.id}").status_code == 404
    assert api.patch(f"/api/roadmap/suggestions/{suggestion.id}",
                     {"manual_priority_adjustment": "low"}, format="json").status_code == 404
    # Creating in it: the platform's one answer (400 on the field, issue 19).
    assert api.post("/api/roadmap/projects", {"name": "x", "organization": str(other_org.id)},
                    format="json").status_code == 400


def test_anonymous_callers_are_401():
    client = APIClient()

    for url in ("/api/roadmap/projects", "/api/roadmap/generation-stats"):
        assert client.get(url).status_code == 401


def test_a_suggestion_is_created_scored_listed_and_adjusted(api, org, other_org):
    project = Project.objects.create(organization=org, name="Core")
    themes = scored_themes(org)
    foreign = theme(other_org, "Foreign", 1, 0.5)
    url = f"/api/roadmap/projects/{project.id}/suggestions"

    created = api.post(url, {"theme": themes["Exports"].id}, format="json")
    duplicate = api.post(url, {"theme": themes["Exports"].id}, format="json")
    wrong_theme = api.post(url, {"theme": foreign.id}, format="json")
    bad = api.post(url, {"theme": themes["Search"].id, "manual_priority_adjustment": "urgent"},
                   format="json")

    assert created.status_code == 201
    assert (created.json()["score"], created.json()["priority_level"]) == (32.0, "high")
    assert duplicate.status_code == 409
    assert wrong_theme.status_code == 400 and "theme" in wrong_theme.json()
    assert bad.status_code == 400 and "manual_priority_adjustment" in bad.json()
    listed = api.get(url).json()["results"]
    assert [s["theme_name"] for s in listed] == ["Exports"]

    suggestion_url = f"/api/roadmap/suggestions/{created.json()['id']}"
    adjusted = api.patch(suggestion_url, {"manual_priority_adjustment": "critical"},
                         format="json")
    assert adjusted.json()["effective_priority"] == "critical"
    cleared = api.patch(suggestion_url, {"manual_priority_adjustment": None}, format="json")
    assert cleared.json()["effective_priority"] == "high"


def test_generation_stats_follow_the_seeds_query(api, org, other_org):
    project = Project.objects.create(organization=org, name="Core")
    other = Project.objects.create(organization=org, name="Side")
    theirs = Project.objects.create(organization=other_org, name="Theirs")
    now = timezone.now()

    def log(p, *, days_ago, ms, tokens, success):
        row = RoadmapGenerationLog.objects.create(project=p, generation_time_ms=ms,
                                                  gpt4_tokens_used=tokens, success=success)
        RoadmapGenerationLog.objects.filter(id=row.id).update(
            created_at=now - dt.timedelta(days=days_ago))

    log(project, days_ago=0, ms=1000, tokens=100, success=True)
    log(project, days_ago=0, ms=3000, tokens=50, success=False)
    log(other, days_ago=2, ms=500, tokens=10, success=True)
    log(project, days_ago=31, ms=9, tokens=9, success=True)   # older than 30 days
    log(theirs, days_ago=0, ms=7, tokens=7, success=True)      # another organization

    stats = api.get("/api/roadmap/generation-stats").json()
    one_project = api.get(f"/api/roadmap/generation-stats?projectId={other.id}").json()

    today, two_days_ago = (now.date(), (now - dt.timedelta(days=2)).date())
    assert stats == [
        {"date": today.isoformat(), "runs": 2, "avg_time_ms": 2000.0, "total_tokens": 150,
         "successful_runs": 1},
        {"date": two_days_ago.isoformat(), "runs": 1, "avg_time_ms": 500.0,
         "total_tokens": 10, "successful_runs": 1},
    ]
    assert [row["runs"] for row in one_project] == [1]
    assert api.get("/api/roadmap/generation-stats?projectId=nope").status_code == 400
    assert api.get(f"/api/roadmap/generation-stats?projectId={theirs.id}").status_code == 404
