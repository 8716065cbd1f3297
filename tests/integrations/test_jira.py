"""Jira through the `jira` library against a fake Jira REST API."""

from __future__ import annotations

import pytest
from jira import JIRA

from jobs.errors import AuthError, PermanentJobError, RateLimitedError, RetryableJobError
from jobs.integrations import jira
from jobs.integrations.effects import effect_label
from jobs.integrations.models import SentEffect
from tests.fakes.fixtures import JIRA_TOKEN, JIRA_USER
from tests.fakes.server import bearer, jira_error


@pytest.mark.django_db
def test_an_epic_is_created_with_basic_auth_and_recorded(fake_jira):
    key = jira.create_issue(project_key="PLAT", summary="Pricing confusion", description="Why",
                            idempotency_key="epic:1")

    (call,) = [c for c in fake_jira.calls("/rest/api/2/issue") if c.method == "POST"]
    assert call.headers["authorization"].startswith("Basic ")
    assert call.json()["fields"] == {
        "project": {"key": "PLAT"}, "summary": "Pricing confusion", "description": "Why",
        "issuetype": {"name": "Epic"}, "priority": {"name": "High"},
        "labels": [effect_label("epic:1")],  # found by it if this answer is lost
    }
    assert effect_label("epic:1").startswith("plinth-") and " " not in effect_label("epic:1")
    assert key == "PLAT-1" and SentEffect.objects.get(key="epic:1").external_id == "PLAT-1"
    assert len(fake_jira.calls()) == 1  # no serverInfo, no GET of the new issue


@pytest.mark.django_db
def test_a_jira_cloud_site_searches_cloud_s_endpoint(settings):
    settings.JIRA_SERVER = "https://acme.atlassian.net"
    assert jira._client()._is_cloud
    settings.JIRA_SERVER = "https://jira.acme.example"
    assert not jira._client()._is_cloud


@pytest.mark.django_db
def test_without_a_user_the_token_goes_alone_as_a_bearer_token(fake_jira, settings):
    settings.JIRA_USER = ""
    fake_jira.check_auth = bearer(JIRA_TOKEN)  # what Jira Server / Data Center checks

    key = jira.create_issue(project_key="PLAT", summary="Pricing confusion")

    (call,) = fake_jira.calls("/rest/api/2/issue")
    assert call.headers["authorization"] == f"Bearer {JIRA_TOKEN}"
    assert key == "PLAT-1"


@pytest.mark.django_db
def test_the_same_key_opens_one_issue(fake_jira):
    first = jira.create_issue(project_key="PLAT", summary="s", idempotency_key="epic:2")
    second = jira.create_issue(project_key="PLAT", summary="s", idempotency_key="epic:2")

    assert first == second == "PLAT-1" and len(fake_jira.calls()) == 1


@pytest.mark.django_db
def test_the_default_project_is_used_and_priority_may_be_left_out(fake_jira, settings):
    settings.JIRA_PROJECT_KEY = "OPS"

    assert jira.create_issue(project_key=None, summary="s", issue_type="Task",
                             priority=None) == "OPS-1"
    fields = fake_jira.calls()[0].json()["fields"]
    assert fields["issuetype"] == {"name": "Task"} and "priority" not in fields


@pytest.mark.django_db
def test_wrong_credentials_are_an_auth_error(fake_jira, settings):
    settings.JIRA_API_TOKEN = "wrong"

    with pytest.raises(AuthError, match="401"):
        jira.create_issue(project_key="PLAT", summary="s")


@pytest.mark.django_db
def test_429_is_rate_limited_with_its_retry_after(fake_jira):
    fake_jira.fail_next(429, retry_after=4)

    with pytest.raises(RateLimitedError) as caught:
        jira.create_issue(project_key="PLAT", summary="s", idempotency_key="epic:429")

    assert caught.value.retry_after == 4.0
    assert len(fake_jira.calls()) == 1  # the library's own retries are off
    assert not SentEffect.objects.filter(key="epic:429").exists()


@pytest.mark.django_db
def test_a_bad_request_is_permanent(fake_jira):
    fake_jira.enqueue(jira_error(400, errors={"issuetype": "Specify a valid issue type"}))

    with pytest.raises(PermanentJobError, match="valid issue type"):
        jira.create_issue(project_key="PLAT", summary="s", issue_type="Saga")


@pytest.mark.django_db
@pytest.mark.parametrize("script", ["500", "hang", "invalid json"])
def test_server_errors_timeouts_and_broken_bodies_are_retryable(fake_jira, settings, script):
    settings.INTEGRATIONS_TIMEOUT_SECONDS = 0.5
    if script == "500":
        fake_jira.fail_next(500)
    elif script == "hang":
        fake_jira.hang_next(1.0)
    else:
        fake_jira.invalid_json_next()

    with pytest.raises(RetryableJobError):
        jira.create_issue(project_key="PLAT", summary="s", idempotency_key="epic:flaky")

    assert SentEffect.objects.get(key="epic:flaky").state == "sending"  # in doubt
    # The retry searches by label, finds nothing (the fake did not create it), creates.
    assert jira.create_issue(project_key="PLAT", summary="s",
                             idempotency_key="epic:flaky") == "PLAT-1"
    assert SentEffect.objects.get(key="epic:flaky").state == "sent"


def test_the_fake_speaks_enough_jira_for_the_library_to_connect(fake_jira):
    client = JIRA(server=fake_jira.url, basic_auth=(JIRA_USER, JIRA_TOKEN), max_retries=0,
                  validate=True)

    assert client.server_info()["version"] == "9.0.0"
    assert client.myself()["name"] == JIRA_USER
    created = client.create_issue(fields={"project": {"key": "X"}, "summary": "s",
                                          "issuetype": {"name": "Bug"}})
    assert client.issue(created.key).fields.summary == "s"
