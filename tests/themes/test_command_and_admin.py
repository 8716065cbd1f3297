"""manage.py theme_scan (a progress bar until the scan ends) and the admin's scan actions."""

from __future__ import annotations

import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

from jobs.models import Job
from tests.themes.builders import WORDS, interview, interviews_about
from themes.models import Theme

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_command_follows_the_scan_with_a_progress_bar(org, background_worker):
    interviews_about(org, WORDS[:2])
    background_worker()
    out = io.StringIO()

    call_command("theme_scan", "--org", "acme", stdout=out)

    text = out.getvalue()
    assert "Theme scan" in text and "queued for acme" in text
    assert "[##############################] 100% completed" in text
    body = json.loads(text[text.index("{"):])
    assert body["success"] is True and body["result"]["themes_created"] == 2
    assert Theme.objects.count() == 2


def test_the_command_refuses_an_unknown_organization_and_bad_options(org, clean_queue):
    with pytest.raises(CommandError, match="No organization"):
        call_command("theme_scan", "--org", "nope", stdout=io.StringIO())
    with pytest.raises(CommandError, match="lookback_days"):
        call_command("theme_scan", "--org", str(org.id), "--lookback-days", "0",
                     stdout=io.StringIO())
    assert not Job.objects.exists()


def test_staff_run_a_scan_and_a_dry_run_from_the_interview_admin(org, clean_queue):
    staff = get_user_model().objects.create_superuser("boss", "b@example.com", "pw")
    made = interview(org, "Pricing hurts.")
    client = Client()
    client.force_login(staff)

    response = client.post("/admin/themes/interview/", {
        "action": "run_dry_scan", "_selected_action": [str(made.id)]}, follow=True)

    assert response.status_code == 200
    job = Job.objects.get(type="themes.scan")
    assert (job.source, job.user, job.input["dry_run"]) == ("admin", staff, True)
    assert "Theme scan of Acme queued" in response.content.decode()
    again = client.post("/admin/themes/interview/", {
        "action": "run_scan", "_selected_action": [str(made.id)]}, follow=True)
    assert "already queued" in again.content.decode()
