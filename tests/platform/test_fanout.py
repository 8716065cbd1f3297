"""jobs.fanout: one job per organization, deactivated ones skipped, a refused create survived."""

from __future__ import annotations

import pytest

from jobs.fanout import fan_out
from jobs.models import Job, Organization, RunLog
from themes.services import theme_scan_start

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_fan_out_skips_deactivated_organizations_and_goes_on_after_a_refused_create(
        clean_queue):
    orgs = [Organization.objects.create(name=n, slug=n) for n in ("a-co", "b-co", "c-co", "d-co")]
    Organization.objects.filter(slug="b-co").update(is_active=False)
    orgs = list(Organization.objects.order_by("slug"))

    def create(org: Organization) -> Job:
        # c-co's input is invalid: its create is refused by the platform's validation.
        return theme_scan_start(organization=org, source="schedule",
                                lookback_days=-5 if org.slug == "c-co" else None)

    first = fan_out(orgs, log_type="test.fan_out", create=create,
                    organization_of=lambda org: org, describe=lambda org: org.slug)
    second = fan_out(orgs, log_type="test.fan_out", create=create,
                     organization_of=lambda org: org, describe=lambda org: org.slug)

    assert first == {"queued": 2, "already_queued": 0, "refused": 1, "skipped": 1}
    assert second == {"queued": 0, "already_queued": 2, "refused": 1, "skipped": 1}
    assert sorted(Job.objects.values_list("organization__slug", flat=True)) == ["a-co", "d-co"]
    log = RunLog.objects.filter(job_type="test.fan_out").order_by("started_at").first()
    assert (log.status, log.processed, log.failed) == ("success", 2, 1)
    assert log.errors[0].startswith("c-co: ")
    assert log.metadata == {"queued": 2, "already_queued": 0, "refused": 1, "skipped": 1}


def test_the_new_themes_trigger_skips_a_deactivated_organizations_projects(org, clean_queue,
                                                                           settings):
    from roadmap.models import Project
    from roadmap.services import roadmap_regenerate_for_new_themes

    settings.ROADMAP_NEW_THEMES_TRIGGER = 0
    Project.objects.create(organization=org, name="Core")
    Organization.objects.filter(id=org.id).update(is_active=False)

    result = roadmap_regenerate_for_new_themes(organization_id=org.id, themes_created=3)

    assert result == {"queued": 0, "already_queued": 0, "skipped": 1}
    assert not Job.objects.exists()
