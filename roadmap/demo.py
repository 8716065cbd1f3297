"""Demo data: a roadmap project for the demo organization's interviews."""

from __future__ import annotations

from typing import Any

from jobs.integrations.models import OrganizationIntegrationSettings
from roadmap.models import Project
from roadmap.services import project_create


def seed(*, organization: Any, user: Any) -> str | None:
    OrganizationIntegrationSettings.objects.get_or_create(
        organization=organization,
        defaults={"slack_channels": ["#roadmap"], "jira_project_keys": ["CORE"]},
    )
    project = Project.objects.filter(organization=organization, name="Core product").first()
    if project is None:
        project = project_create(
            organization=organization, name="Core product", slack_channel="#roadmap",
            jira_project_key="CORE",
        )
    return (
        f"project {project.name!r}; regenerate its roadmap after a scan with "
        f"`manage.py roadmap_regenerate --project {project.id}`"
    )
