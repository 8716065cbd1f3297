from __future__ import annotations

from typing import Any

import pytest

from roadmap.models import Project

SECRET = "s3cret-value"


@pytest.fixture(autouse=True)
def _roadmap_settings(settings: Any) -> None:
    settings.INTERNAL_SHARED_SECRET = SECRET
    settings.LLM_PROVIDER = "offline"


@pytest.fixture
def project(org: Any) -> Project:
    return Project.objects.create(organization=org, name="Core", slack_channel="#roadmap",
                                  jira_project_key="CORE")
