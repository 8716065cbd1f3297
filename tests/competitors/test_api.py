"""/api/decisions: decisions and options created and listed, scoped to the organization;
the pages render for members only."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from competitors.models import CompetitorProfile, Decision, Option, Output
from jobs import lifecycle
from jobs.models import Job, Organization

pytestmark = pytest.mark.django_db


def test_create_and_list_decisions_in_your_organization(api, org, other_org):
    Decision.objects.create(organization=other_org, title="Not yours")

    created = api.post("/api/decisions", {"title": "Build or buy?", "context": "Budget is tight."},
                       format="json")
    listing = api.get("/api/decisions").json()

    assert created.status_code == 201
    assert created.json()["organization_id"] == str(org.id)
    assert [d["title"] for d in listing["results"]] == ["Build or buy?"]
    assert Decision.objects.get(id=created.json()["id"]).created_by is not None


def test_bad_decisions_are_refused_with_field_errors(api, other_org):
    no_title = api.post("/api/decisions", {"context": "x"}, format="json")
    foreign = api.post("/api/decisions", {"title": "t", "organization_id": str(other_org.id)},
                       format="json")

    assert no_title.status_code == 400 and "title" in no_title.json()
    assert foreign.status_code == 400 and "organization_id" in foreign.json()


def test_options_are_added_in_order_changed_and_deleted(api, decision):
    url = f"/api/decisions/{decision.id}/options"

    third = api.post(url, {"title": "Partner", "description": "Resell"}, format="json").json()
    changed = api.patch(f"{url}/{third['id']}", {"title": "Partner up"}, format="json")
    first = decision.options.first()
    deleted = api.delete(f"{url}/{first.id}")
    listing = api.get(url).json()

    assert third["position"] == 3 and third["ai_analysis"] is None
    assert changed.json()["title"] == "Partner up"
    assert deleted.status_code == 204
    assert [o["title"] for o in listing] == ["Stay sales-led", "Partner up"]


def test_a_decision_shows_what_its_jobs_gathered(api, decision):
    CompetitorProfile.objects.create(decision=decision, company_name="Acme",
                                     company_url="https://acme.example/", summary="s",
                                     generated_at=timezone.now())
    Output.objects.create(decision=decision, title="Brief", content="# Brief",
                          generated_at=timezone.now())

    body = api.get(f"/api/decisions/{decision.id}").json()
    competitors = api.get(f"/api/decisions/{decision.id}/competitors").json()["results"]

    assert [o["title"] for o in body["options"]] == ["Self-serve tier", "Stay sales-led"]
    assert [p["company_name"] for p in body["competitor_profiles"]] == ["Acme"]
    assert body["outputs"][0]["content"] == "# Brief"
    assert competitors[0]["company_url"] == "https://acme.example/"


def test_another_organizations_decision_is_404_everywhere(api, other_org):
    theirs = Decision.objects.create(organization=other_org, title="Theirs")
    option = Option.objects.create(decision=theirs, title="o")

    paths = [f"/api/decisions/{theirs.id}", f"/api/decisions/{theirs.id}/options",
             f"/api/decisions/{theirs.id}/options/{option.id}",
             f"/api/decisions/{theirs.id}/competitors", f"/api/decisions/{theirs.id}/jobs",
             f"/api/decisions/{theirs.id}/evidence", f"/api/decisions/{theirs.id}/outputs"]

    assert [api.get(p).status_code for p in paths] == [404] * len(paths)
    assert api.patch(f"/api/decisions/{theirs.id}", {"title": "mine"}, format="json"
                     ).status_code == 404


def test_the_api_needs_authentication(decision):
    assert APIClient().get("/api/decisions").status_code == 401
    assert APIClient().get(f"/api/decisions/{decision.id}").status_code == 401


def test_a_decisions_jobs_are_listed(api, decision, org, user, clean_queue):
    job = lifecycle.job_create(job_type="brief_generation", input={}, organization=org, user=user,
                               decision_id=decision.id)

    listing = api.get(f"/api/decisions/{decision.id}/jobs").json()

    assert [j["id"] for j in listing["results"]] == [str(job.id)]
    assert listing["results"][0]["poll_interval_ms"] == 2000


def test_pages_render_for_members_only(decision, user, make_user, org):
    member = Client()
    member.force_login(user)
    stranger = Client()
    stranger.force_login(make_user(Organization.objects.create(name="O", slug="o")))

    page = member.get(f"/decisions/{decision.id}")
    jobs = member.get("/jobs/")
    listing = member.get("/decisions/")

    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="job-modal"' in html and "This usually takes" in html
    assert 'id="generate-brief"' in html and 'class="inline-progress"' in html
    assert "jobs/jobstream.js" in html and "jobs/jobpoll.js" in html
    assert jobs.status_code == 200 and listing.status_code == 200
    assert decision.title in listing.content.decode()
    assert stranger.get(f"/decisions/{decision.id}").status_code == 404
    assert Client().get(f"/decisions/{decision.id}").status_code == 302  # to the login


def test_a_decision_is_created_from_the_page(user, org):
    client = Client()
    client.force_login(user)

    response = client.post("/decisions/", {"title": "Price change?", "context": "Churn is up."})

    decision = Decision.objects.get(title="Price change?")
    assert response.status_code == 302 and response["Location"] == f"/decisions/{decision.id}"
    assert decision.organization == org and decision.context == "Churn is up."


def test_a_decision_job_with_a_missing_or_foreign_decision_is_refused_at_creation(
    api, decision, other_org
):
    theirs = Decision.objects.create(organization=other_org, title="Theirs")
    body = {"type": "brief_generation", "input": {}}

    missing = api.post("/api/jobs", body, format="json")
    foreign = api.post("/api/jobs", {**body, "decision_id": str(theirs.id)}, format="json")
    ours = api.post("/api/jobs", {**body, "decision_id": str(decision.id)}, format="json")

    assert missing.status_code == 400
    assert missing.json()["decision_id"] == ["brief_generation needs a decision_id."]
    assert foreign.status_code == 400
    assert foreign.json()["decision_id"] == [
        f"Decision {theirs.id} not found in this organization."]
    assert ours.status_code == 201
    assert Job.objects.get(id=ours.json()["id"]).decision_id == decision.id
