"""Interviews (how users feed the scanner), themes and the audit log through the API."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.themes.builders import interview, theme
from themes.models import AuditEntry, Interview

pytestmark = pytest.mark.django_db


def test_a_member_creates_an_interview_with_quotes_and_lists_it(api, org):
    created = api.post("/api/interviews", {
        "title": "Call with Ada", "interviewed_at": "2026-11-01",
        "quotes": ["Too slow to export.", "Love the search."]}, format="json")

    assert created.status_code == 201
    body = created.json()
    assert body["organization"] == str(org.id)
    assert [q["text"] for q in body["quotes"]] == ["Too slow to export.", "Love the search."]
    listed = api.get("/api/interviews").json()["results"]
    assert [i["id"] for i in listed] == [body["id"]]
    assert api.get(f"/api/interviews/{body['id']}").json()["title"] == "Call with Ada"


def test_bad_interviews_are_400_with_field_errors(api):
    empty = api.post("/api/interviews", {}, format="json")
    nothing_to_read = api.post("/api/interviews", {"title": "x", "interviewed_at": "2026-11-01"},
                               format="json")
    bad_date = api.post("/api/interviews", {"title": "x", "interviewed_at": "yesterday",
                                            "quotes": ["a"]}, format="json")

    assert empty.status_code == 400 and {"title", "interviewed_at"} <= set(empty.json())
    assert nothing_to_read.status_code == 400 and "quotes" in nothing_to_read.json()
    assert bad_date.status_code == 400 and "interviewed_at" in bad_date.json()
    assert not Interview.objects.exists()


def test_anonymous_callers_are_401():
    client = APIClient()

    assert client.get("/api/interviews").status_code == 401
    assert client.post("/api/interviews", {}, format="json").status_code == 401
    assert client.get("/api/themes").status_code == 401


def test_another_organizations_interviews_and_themes_are_404(api, other_org):
    theirs = interview(other_org, "Their quote.")
    their_theme = theme(other_org, "Secret", 3, 0.9)

    assert api.get(f"/api/interviews/{theirs.id}").status_code == 404
    assert api.get(f"/api/themes/{their_theme.id}").status_code == 404
    assert api.get("/api/interviews").json()["results"] == []
    assert api.get("/api/themes").json()["results"] == []
    into_theirs = api.post("/api/interviews", {
        "organization": str(other_org.id), "title": "x", "interviewed_at": "2026-11-01",
        "quotes": ["a"]}, format="json")
    # Creating in it: the platform's one answer (400 on the field, issue 19).
    assert into_theirs.status_code == 400 and "organization" in into_theirs.json()


def test_themes_and_the_audit_log_are_listed_for_members(api, org):
    mine = theme(org, "Pricing", 3, 0.9)
    AuditEntry.objects.create(organization=org, actor="job:x", tool="theme_upsert",
                              action="create", entity="theme", entity_id=str(mine.id),
                              after={"name": "Pricing"})

    themes = api.get("/api/themes").json()["results"]
    audit = api.get("/api/themes/audit-entries").json()["results"]

    assert [(t["slug"], t["occurrences"]) for t in themes] == [("pricing", 3)]
    assert [(a["tool"], a["after"]) for a in audit] == [("theme_upsert", {"name": "Pricing"})]


def test_the_schema_documents_the_themes_and_roadmap_endpoints(api):
    paths = api.get("/api/schema/", {"format": "json"}).json()["paths"]

    scan = paths["/api/internal/jobs/theme-scan"]["post"]
    assert set(scan["responses"]) >= {"200", "202", "400", "401", "404", "503"}
    for path in ("/api/interviews", "/api/themes", "/api/themes/audit-entries",
                 "/api/roadmap/generate", "/api/roadmap/generation-stats",
                 "/api/roadmap/projects", "/api/roadmap/projects/{project_id}/suggestions",
                 "/api/roadmap/suggestions/{id}"):
        assert path in paths
