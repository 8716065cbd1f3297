"""manage.py roadmap_regenerate (a progress bar until it ends) and the admin's actions."""

from __future__ import annotations

import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

from jobs.models import Job
from tests.roadmap.builders import scored_themes

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_command_follows_the_regeneration_with_a_progress_bar(org, project,
                                                                  background_worker):
    scored_themes(org)
    background_worker()
    out = io.StringIO()

    call_command("roadmap_regenerate", "--project", "Core", "--org", "acme", stdout=out)

    text = out.getvalue()
    assert "[..............................]   0% pending" in text
    assert "[##############################] 100% completed" in text
    output = json.loads(text[text.index("{"):])
    assert (output["suggestions"], output["reasoned"]) == (4, 4)


def test_the_command_refuses_an_unknown_project(org, clean_queue):
    with pytest.raises(CommandError, match="No project"):
        call_command("roadmap_regenerate", "--project", "00000000-0000-0000-0000-000000000000",
                     stdout=io.StringIO())
    with pytest.raises(CommandError, match="--org"):
        call_command("roadmap_regenerate", "--project", "Core", stdout=io.StringIO())
    assert not Job.objects.exists()


def test_staff_regenerate_from_the_project_admin(org, project, clean_queue):
    staff = get_user_model().objects.create_superuser("boss", "b@example.com", "pw")
    client = Client()
    client.force_login(staff)

    response = client.post("/admin/roadmap/project/", {
        "action": "regenerate_scores_only", "_selected_action": [str(project.id)]}, follow=True)

    assert "Regeneration of Core queued" in response.content.decode()
    job = Job.objects.get(type="roadmap.regenerate")
    assert (job.source, job.user, job.input["generate_reasoning"]) == ("admin", staff, False)
