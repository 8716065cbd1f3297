"""Every list and detail route of the API makes a fixed number of SQL queries,
written here: the same with 2 rows of everything as with 5 (and 5 children
under each parent), so a serializer that reads a relation per row (an N+1)
fails this test. Counted through Django and DRF (token auth) with pytest-django's
django_assert_num_queries.

The counts are a token client's steady state: its token remembered
(jobs.api.auth, API_TOKEN_CACHE_SECONDS), so authentication is no query; the
first request of a token, or every request with the cache off, makes one more
(the token with its user). A paginated list answers its page and its total in
one statement (jobs.api.pagination)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from bench.routedata import populate

# route -> SQL queries per request, the token already remembered. A paginated list
# is one statement (page and total); a child list adds its parent's lookup. The
# decision's detail: the decision, then one query per relation (options,
# profiles, research, the research's evidence, evidence, outputs).
EXPECTED: dict[str, int] = {
    "/api/jobs": 1,
    "/api/jobs?limit=20&status=completed": 1,
    "/api/jobs/types": 1,  # every type's measured durations (issue 17)
    "/api/jobs/{job}": 1,
    "/api/jobs/{job}/events-log": 2,
    "/api/decisions": 1,
    "/api/decisions/{decision}": 7,
    "/api/decisions/{decision}/options": 2,
    "/api/decisions/{decision}/competitors": 2,
    "/api/decisions/{decision}/market-research": 3,
    "/api/decisions/{decision}/evidence": 2,
    "/api/decisions/{decision}/outputs": 2,
    "/api/decisions/{decision}/jobs": 2,
    "/api/report-builder/documents": 3,
    "/api/report-builder/documents/{document}": 3,
    "/api/report-builder/documents/{document}/blocks": 2,
    "/api/report-builder/documents/{document}/blocks/{block}": 2,
    "/api/report-builder/documents/{document}/blocks/{block}/revisions": 3,
    "/api/report-builder/jobs": 1,
    "/api/report-builder/jobs/{analysis}": 1,
    "/api/interviews": 2,
    "/api/interviews/{interview}": 2,
    "/api/themes": 1,
    "/api/themes/{theme}": 1,
    "/api/themes/audit-entries": 1,
    "/api/roadmap/projects": 1,
    "/api/roadmap/projects/{project}": 1,
    "/api/roadmap/projects/{project}/suggestions": 2,
    "/api/roadmap/suggestions/{suggestion}": 1,
    "/api/comparisons": 1,
    "/api/comparisons/{comparison}": 1,
    "/api/ops/summary": 11,
    "/api/health": 0,
}


def _path(template: str, rows: dict[str, Any]) -> str:
    values = {
        "job": rows["job"].id, "decision": rows["decision"].id,
        "document": rows["document"].id, "block": rows["block"].id,
        "analysis": rows["analysis"].job_id, "interview": rows["interview"].id,
        "theme": rows["theme"].id, "project": rows["project"].id,
        "suggestion": rows["suggestion"].id, "comparison": rows["comparison"].slug,
    }
    return template.format(**values)


def _client(user: Any) -> tuple[APIClient, str]:
    client = APIClient()
    key = Token.objects.create(user=user).key
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client, key


@pytest.mark.parametrize("rows", [2, 5])
def test_queries_per_request_do_not_grow_with_rows(rows: int, org: Any, user: Any) -> None:
    user.is_staff = True  # the ops summary is staff only
    user.save(update_fields=["is_staff"])
    made = populate(org, user, rows)
    client, _ = _client(user)
    assert client.get("/api/jobs/types").status_code == 200  # the token, remembered
    counted: dict[str, int] = {}
    for template in EXPECTED:
        path = _path(template, made)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(path)
        assert response.status_code == 200, (path, response.status_code, response.content[:300])
        counted[template] = len(ctx.captured_queries)
    assert counted == EXPECTED


def test_the_count_is_exact(org: Any, user: Any, django_assert_num_queries: Any) -> None:
    """The assertion itself: the jobs list with django_assert_num_queries, which
    fails on one query more or less; a new token's first request is one more."""
    made = populate(org, user, 3)
    client, _ = _client(user)
    with django_assert_num_queries(EXPECTED["/api/jobs"] + 1):  # the token with its user
        # 3 diagnostic jobs and 3 x 3 report jobs (one per block)
        assert client.get("/api/jobs").json()["count"] == 3 + 3 * 3
    with django_assert_num_queries(EXPECTED["/api/jobs"]):
        assert client.get("/api/jobs?limit=2").json()["count"] == 3 + 3 * 3
    with django_assert_num_queries(EXPECTED["/api/jobs/{job}"]):
        assert client.get(f"/api/jobs/{made['job'].id}").status_code == 200


def test_with_the_token_cache_off_every_request_looks_the_token_up(
        org: Any, user: Any, settings: Any, django_assert_num_queries: Any) -> None:
    settings.API_TOKEN_CACHE_SECONDS = 0
    populate(org, user, 2)
    client, _ = _client(user)
    for _ in range(2):
        with django_assert_num_queries(EXPECTED["/api/jobs"] + 1):
            assert client.get("/api/jobs").status_code == 200


def test_a_remembered_token_deleted_or_its_user_deactivated(org: Any, user: Any,
                                                             settings: Any) -> None:
    """A token deleted in this process stops at once; a user made inactive keeps
    its remembered token for at most API_TOKEN_CACHE_SECONDS (here 0.5 s)."""
    import time

    from jobs.api import auth

    settings.API_TOKEN_CACHE_SECONDS = 0.5
    client, key = _client(user)
    assert client.get("/api/jobs").status_code == 200
    Token.objects.filter(key=key).delete()  # a queryset delete sends post_delete too
    assert client.get("/api/jobs").status_code == 401

    client, key = _client(user)
    assert client.get("/api/jobs").status_code == 200
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    assert client.get("/api/jobs").status_code == 200  # remembered: the documented price
    deadline = time.monotonic() + 5
    while client.get("/api/jobs").status_code == 200:
        assert time.monotonic() < deadline, "a deactivated user kept its token past the cache"
        time.sleep(0.1)
    assert client.get("/api/jobs").status_code == 401
    auth.clear()


def test_pages_and_totals_from_one_statement(org: Any, user: Any,
                                             django_assert_num_queries: Any) -> None:
    """The total is the filtered list's, on every page; past the end the page is
    empty and the total still right (one more query: the count alone)."""
    populate(org, user, 3)
    client, _ = _client(user)
    everything = client.get("/api/jobs?limit=200").json()
    total = everything["count"]
    assert total == len(everything["results"]) == 12
    seen = []
    for offset in range(0, total, 5):
        with django_assert_num_queries(1):
            page = client.get(f"/api/jobs?limit=5&offset={offset}").json()
        assert page["count"] == total
        seen += [row["id"] for row in page["results"]]
    assert seen == [row["id"] for row in everything["results"]]
    with django_assert_num_queries(2):
        past = client.get(f"/api/jobs?limit=5&offset={total + 3}").json()
    assert past["count"] == total and past["results"] == []
    with django_assert_num_queries(1):
        none = client.get("/api/jobs?status=cancelled").json()
    assert none == {"count": 0, "next": None, "previous": None, "results": []}
