"""`make run`'s demo data: on a fresh machine a scan finds themes and the roadmap has a spread."""

from __future__ import annotations

import pytest

from roadmap import demo as roadmap_demo
from roadmap.models import Project
from roadmap.services import roadmap_regenerate_start
from tests.conftest import drain
from themes import demo as themes_demo
from themes.models import Interview, Theme
from themes.services import theme_scan_start

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_demo_scan_finds_themes_and_the_roadmap_ranks_them(org, user, clean_queue):
    assert "36 interviews" in themes_demo.seed(organization=org, user=user)
    roadmap_demo.seed(organization=org, user=user)
    themes_demo.seed(organization=org, user=user)  # idempotent
    roadmap_demo.seed(organization=org, user=user)
    assert Interview.objects.count() == 36 and Project.objects.count() == 1

    scan = theme_scan_start(organization=org, source="internal")
    drain()
    scan.refresh_from_db()
    regeneration = roadmap_regenerate_start(project=Project.objects.get(), source="internal")
    drain()
    regeneration.refresh_from_db()

    assert scan.status == "completed" and scan.output["offline"] is True
    assert {"Pricing", "Onboarding", "Export", "Search"} <= set(
        Theme.objects.values_list("name", flat=True))
    assert regeneration.status == "completed"
    levels = set(Project.objects.get().suggestions.values_list("priority_level", flat=True))
    assert {"critical", "high", "medium"} <= levels
