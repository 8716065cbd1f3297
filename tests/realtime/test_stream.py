"""GET /api/jobs/{id}/events on a real uvicorn server: order, resume, end, keep-alives,
authentication, and many streams on one LISTEN connection that survives losing it."""

from __future__ import annotations

import time

import pytest
import requests
from django.db import connection
from django.test import Client

from jobs import lifecycle
from jobs.models import Job, JobEvent, Organization
from tests.conftest import drain, wait_for
from tests.realtime.support import SSE, server_connections

pytestmark = pytest.mark.django_db(transaction=True)


def events_url(server, job) -> str:
    return f"{server.url}/api/jobs/{job.id}/events"


def event_ids(job) -> list[int]:
    return list(JobEvent.objects.filter(job=job).order_by("id").values_list("id", flat=True))


def test_events_arrive_in_order_and_the_stream_closes_when_the_job_ends(
    asgi_server, auth, make_job, background_worker
):
    job = make_job(steps=3, step_seconds=0.05)
    stream = SSE(events_url(asgi_server, job), headers=auth)
    first = stream.next_event()  # the replay: the job was created before we came
    background_worker()

    events = [first, *stream.read_until_closed()]

    job.refresh_from_db()
    assert stream.status == 200 and stream.closed
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert stream.headers["cache-control"] == "no-cache"
    assert stream.retry == 3000
    assert [e["id"] for e in events] == event_ids(job)  # every event, in order, once
    assert [e["data"]["kind"] for e in events] == [
        "created", "started", "progress", "progress", "progress", "completed"]
    assert [e["event"] for e in events] == [
        "status", "status", "progress", "progress", "progress", "status"]
    assert [e["data"]["message"] for e in events[2:5]] == [
        "Step 1 of 3", "Step 2 of 3", "Step 3 of 3"]
    progress = [e["data"]["progress"] for e in events]
    assert progress == sorted(progress) and progress[-1] == 100
    assert [e["data"]["final"] for e in events] == [False] * 5 + [True]
    assert events[-1]["data"]["output"] == job.output == {"steps": 3, "attempt": 1}


def test_last_event_id_resumes_after_that_event(asgi_server, auth, make_job, clean_queue):
    job = make_job(steps=2)
    drain()
    ids = event_ids(job)

    resumed = SSE(events_url(asgi_server, job), headers={**auth, "Last-Event-ID": str(ids[2])})
    by_query = SSE(f"{events_url(asgi_server, job)}?last_event_id={ids[3]}", headers=auth)

    assert [e["id"] for e in resumed.read_until_closed()] == ids[3:]
    assert [e["id"] for e in by_query.read_until_closed()] == ids[4:]


def test_a_live_stream_resumed_mid_job_sends_only_what_came_after(asgi_server, auth, make_job):
    job = make_job()
    created = event_ids(job)[0]
    stream = SSE(events_url(asgi_server, job), headers={**auth, "Last-Event-ID": str(created)})

    lifecycle.job_cancel(job.id, actor="test")
    events = stream.read_until_closed()

    assert [e["data"]["kind"] for e in events] == ["cancelled"]
    assert events[0]["data"]["final"] is True and events[0]["data"]["status"] == "cancelled"


def test_an_ended_job_with_nothing_left_answers_204_so_the_browser_stops(
    asgi_server, auth, make_job
):
    job = make_job()
    lifecycle.job_cancel(job.id, actor="test")
    last = event_ids(job)[-1]

    response = requests.get(events_url(asgi_server, job),
                            headers={**auth, "Last-Event-ID": str(last)}, timeout=10)
    whole = SSE(events_url(asgi_server, job), headers=auth).read_until_closed()

    assert response.status_code == 204
    assert [e["data"]["kind"] for e in whole] == ["created", "cancelled"]


def test_keep_alive_comments_while_nothing_happens(asgi_server, auth, make_job):
    job = make_job()
    stream = SSE(events_url(asgi_server, job), headers=auth)
    stream.next_event()

    time.sleep(1.3)  # keep-alives every 0.5 s on this server
    lifecycle.job_cancel(job.id, actor="test")
    ended = stream.next_event()

    assert stream.comments.count("keep-alive") >= 2
    assert ended["data"]["status"] == "cancelled"


def test_authentication_and_organization_scoping(asgi_server, auth, make_job, make_user):
    job = make_job()
    stranger_org = Organization.objects.create(name="Other", slug="other")
    theirs = lifecycle.job_create(job_type="diagnostic", input={}, organization=stranger_org)
    client = Client()
    client.force_login(job.user)

    anonymous = requests.get(events_url(asgi_server, job), timeout=10)
    bad_token = requests.get(events_url(asgi_server, job), timeout=10,
                             headers={"Authorization": "Token nope"})
    other_org = requests.get(events_url(asgi_server, theirs), headers=auth, timeout=10)
    by_session = SSE(events_url(asgi_server, job),
                     headers={"Cookie": f"sessionid={client.cookies['sessionid'].value}"})

    assert anonymous.status_code == 401 and bad_token.status_code == 401
    assert anonymous.json()["detail"] == "Authentication credentials were not provided."
    assert other_org.status_code == 404
    assert by_session.status == 200 and by_session.next_event()["data"]["kind"] == "created"
    by_session.close()


def test_a_deactivated_organizations_member_gets_no_stream(asgi_server, auth, make_job):
    job = make_job()
    client = Client()
    client.force_login(job.user)
    cookie = {"Cookie": f"sessionid={client.cookies['sessionid'].value}"}
    Organization.objects.filter(id=job.organization_id).update(is_active=False)

    # stream=True: an open stream (the defect) answers 200 and never ends.
    with requests.get(events_url(asgi_server, job), headers=auth, timeout=10,
                      stream=True) as by_token:
        token_code = by_token.status_code
        detail = by_token.json()["detail"] if token_code == 404 else ""
    with requests.get(events_url(asgi_server, job), headers=cookie, timeout=10,
                      stream=True) as by_session:
        session_code = by_session.status_code

    assert token_code == 404 and session_code == 404
    assert detail == "No such job."


def test_many_open_streams_share_one_database_connection(asgi_server, auth, make_job):
    jobs = [make_job() for _ in range(5)]
    few = [SSE(events_url(asgi_server, jobs[0]), headers=auth) for _ in range(2)]
    for stream in few:
        assert stream.next_event()["data"]["kind"] == "created"
    with_few = sum(server_connections().values())
    many = [SSE(events_url(asgi_server, job), headers=auth) for job in jobs for _ in range(6)]
    for stream in many:
        assert stream.next_event()["data"]["kind"] == "created"

    with_many = server_connections()
    for job in jobs:
        lifecycle.job_cancel(job.id, actor="test")
    endings = [stream.read_until_closed() for stream in [*few, *many]]

    assert with_many["plinth-realtime"] == 1  # one LISTEN connection for 32 streams
    # 30 more streams: at most the replay pool's growth (1 to 4), not one per stream.
    assert sum(with_many.values()) - with_few <= 3
    assert sum(with_many.values()) <= 10
    assert all([e["data"]["kind"] for e in ending] == ["cancelled"] for ending in endings)


def _listen_pid() -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = 'plinth-realtime'"
        )
        row = cursor.fetchone()
    return row[0] if row else None


def test_a_stream_survives_the_loss_of_the_listen_connection(asgi_server, auth, make_job):
    job, later = make_job(), make_job()
    stream = SSE(events_url(asgi_server, job), headers=auth)
    stream.next_event()
    old_pid = wait_for(_listen_pid)

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [old_pid])
    # Most likely while the hub reconnects: its notification is lost, and the
    # stream must get the event from the table when the hub resynchronizes.
    lifecycle.job_cancel(job.id, actor="test")
    events = stream.read_until_closed()
    new_pid = wait_for(_listen_pid)
    after = SSE(events_url(asgi_server, later), headers=auth)
    after.next_event()
    lifecycle.job_cancel(later.id, actor="test")

    assert [e["data"]["kind"] for e in events] == ["cancelled"]
    assert new_pid != old_pid
    assert [e["data"]["kind"] for e in after.read_until_closed()] == ["cancelled"]


def test_the_synchronous_api_keeps_working_under_the_asgi_server(asgi_server, auth, make_job):
    created = requests.post(f"{asgi_server.url}/api/jobs", headers=auth, timeout=10,
                            json={"type": "diagnostic", "input": {"steps": 1}})
    job_id = created.json()["id"]
    detail = requests.get(f"{asgi_server.url}/api/jobs/{job_id}", headers=auth, timeout=10)
    listing = requests.get(f"{asgi_server.url}/api/jobs", headers=auth, timeout=10)

    assert created.status_code == 201
    assert detail.status_code == 200 and detail.json()["status"] == "pending"
    assert listing.json()["count"] == 1
    assert Job.objects.get(id=job_id).type == "diagnostic"


def test_without_the_asgi_server_the_stream_says_to_poll(api, make_job):
    job = make_job()

    response = api.get(f"/api/jobs/{job.id}/events")

    assert response.status_code == 503
    assert f"/api/jobs/{job.id}" in response.json()["detail"]


def test_the_stream_is_in_the_api_schema(api):
    schema = api.get("/api/schema/", {"format": "json"}).json()

    operation = schema["paths"]["/api/jobs/{id}/events"]["get"]
    assert "text/event-stream" in operation["responses"]["200"]["content"]
    assert {p["name"] for p in operation["parameters"]} >= {"id", "Last-Event-ID"}
