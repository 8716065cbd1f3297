"""Staff tools: the admin's job pages and actions, and the shell command."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.test import Client

from jobs import lifecycle
from jobs.models import Job

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def staff_client(make_user, org) -> Client:
    admin = make_user(org, username="boss", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    return client


def test_the_job_list_shows_filters_and_a_progress_column(staff_client, org, clean_queue):
    lifecycle.job_create(job_type="diagnostic", input={}, organization=org)

    page = staff_client.get("/admin/jobs/job/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "<progress" in html
    assert "By status" in html and "By type" in html


def test_the_job_list_filters_by_organization_and_date_and_searches_ids(
    staff_client, org, other_org, clean_queue
):
    ours = lifecycle.job_create(job_type="diagnostic", input={}, organization=org)
    theirs = lifecycle.job_create(job_type="diagnostic", input={}, organization=other_org)

    html = staff_client.get("/admin/jobs/job/").content.decode()
    by_org = staff_client.get(f"/admin/jobs/job/?organization__id__exact={org.id}")
    by_date = staff_client.get("/admin/jobs/job/?created_at__year=2000")
    this_year = staff_client.get(f"/admin/jobs/job/?created_at__year={ours.created_at.year}")
    search = staff_client.get("/admin/jobs/job/", {"q": str(theirs.id)[:13]})

    assert "By organization" in html and "By created at" in html
    assert [j.id for j in by_org.context["cl"].result_list] == [ours.id]
    assert list(by_date.context["cl"].result_list) == []
    assert {j.id for j in this_year.context["cl"].result_list} == {ours.id, theirs.id}
    assert [j.id for j in search.context["cl"].result_list] == [theirs.id]


def test_procrastinates_own_admin_stays_available_to_staff(staff_client, org, clean_queue):
    job = lifecycle.job_create(job_type="diagnostic", input={}, organization=org)

    listing = staff_client.get("/admin/procrastinate/procrastinatejob/")
    row = staff_client.get(
        f"/admin/procrastinate/procrastinatejob/{job.procrastinate_job_id}/change/")

    assert listing.status_code == 200 and row.status_code == 200
    assert "jobs.run" in listing.content.decode()
    assert Client().get("/admin/procrastinate/procrastinatejob/").status_code == 302


def test_the_job_page_shows_its_events_and_steps(staff_client, org, clean_queue):
    from tests.conftest import drain

    job = lifecycle.job_create(job_type="diagnostic", input={"steps": 2}, organization=org)
    drain()

    html = staff_client.get(f"/admin/jobs/job/{job.id}/change/").content.decode()

    assert "step-1" in html and "step-2" in html
    assert "completed" in html and "started" in html


def test_admin_actions_cancel_and_retry_through_the_lifecycle(staff_client, org, clean_queue):
    job = lifecycle.job_create(job_type="diagnostic", input={}, organization=org)

    staff_client.post("/admin/jobs/job/", {"action": "cancel_jobs", "_selected_action": [job.id]})
    cancelled = Job.objects.get(id=job.id).status
    staff_client.post("/admin/jobs/job/", {"action": "retry_jobs", "_selected_action": [job.id]})

    job.refresh_from_db()
    assert cancelled == "cancelled"
    assert job.status == "pending"
    assert list(job.events.values_list("actor", flat=True))[-2:] == ["boss", "boss"]


def test_non_staff_users_cannot_open_the_admin(make_user, org):
    client = Client()
    client.force_login(make_user(org))

    response = client.get("/admin/jobs/job/")

    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_job_run_command_follows_a_job_to_completion(org, background_worker):
    background_worker()
    out = io.StringIO()

    call_command("job_run", "diagnostic", "--input", '{"steps": 2}', "--org", org.slug, stdout=out)

    text = out.getvalue()
    assert "100%" in text and "Completed" in text
    assert Job.objects.get().status == "completed"


def test_job_run_command_rejects_bad_input(org):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Invalid input"):
        call_command("job_run", "diagnostic", "--input", '{"steps": "many"}')
