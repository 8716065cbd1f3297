"""A project may name only the Slack channels and Jira projects its organization's
integration settings allow (the shared bot posts for every tenant)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from jobs.integrations.models import OrganizationIntegrationSettings
from roadmap.models import Project

pytestmark = pytest.mark.django_db


@pytest.fixture
def allowed(org, other_org):
    OrganizationIntegrationSettings.objects.create(
        organization=org, slack_channels=["#acme-roadmap"], jira_project_keys=["ACME"])
    OrganizationIntegrationSettings.objects.create(
        organization=other_org, slack_channels=["#globex-exec"], jira_project_keys=["GLOBEX"])


@pytest.mark.parametrize(("field", "value"), [
    ("slack_channel", "#globex-exec"),  # another tenant's channel
    ("slack_channel", "C0GLOBEX1"),
    ("jira_project_key", "GLOBEX"),
    ("jira_project_key", "globex"),
])
def test_a_member_cannot_point_a_project_at_a_target_that_is_not_allowed(
    api, allowed, field, value
):
    response = api.post("/api/roadmap/projects", {"name": "Sneaky", field: value},
                        format="json")

    assert response.status_code == 400
    assert "not allowed" in response.json()[field][0]
    assert not Project.objects.filter(name="Sneaky").exists()


def test_allowed_targets_are_accepted_whatever_their_spelling(api, org, allowed):
    response = api.post("/api/roadmap/projects", {"name": "Ours", "slack_channel": "acme-roadmap",
                                                  "jira_project_key": "acme"}, format="json")

    assert response.status_code == 201


def test_with_no_settings_only_the_deployments_defaults_are_allowed(api):
    refused = api.post("/api/roadmap/projects", {"name": "A", "slack_channel": "#general"},
                       format="json")
    default = api.post("/api/roadmap/projects", {"name": "B"}, format="json")

    assert refused.status_code == 400 and default.status_code == 201


def test_the_admin_form_checks_the_same_lists(make_user, org, allowed):
    staff = make_user(org, is_staff=True)
    for codename in ("add_project", "view_project"):
        staff.user_permissions.add(Permission.objects.get(codename=codename))
    client = Client()
    client.force_login(staff)

    response = client.post("/admin/roadmap/project/add/", {
        "organization": str(org.id), "name": "Via admin", "status": "active",
        "slack_channel": "#globex-exec", "jira_project_key": "",
    })

    assert response.status_code == 200 and b"not allowed" in response.content
    assert not Project.objects.filter(name="Via admin").exists()
