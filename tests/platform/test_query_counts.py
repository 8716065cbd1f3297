"""Every list and detail route of the API makes a fixed number of SQL queries,
written here: the same with 2 rows of everything as with 5 (and 5 children
under each parent), so a serializer that reads a relation per row (an N+1)
fails this test. Counted through Django and DRF (token auth) with pytest-django's
django_assert_num_queries."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from bench.routedata import populate

# route -> SQL queries per request. Token authentication is one of them (the token
# with its user); a paginated list adds its COUNT; a child list its parent's
# lookup. The decision's detail: the decision, then one query per relation
# (options, profiles, research, the research's evidence, evidence, outputs).
EXPECTED: dict[str, int] = {
    "/api/jobs": 3,
    "/api/jobs?limit=20&status=completed": 3,
    "/api/jobs/types": 2,  # the token, then every type's measured durations (issue 17)
    "/api/jobs/{job}": 2,
    "/api/jobs/{job}/events-log": 4,
    "/api/decisions": 3,
    "/api/decisions/{decision}": 8,
    "/api/decisions/{decision}/options": 3,
    "/api/decisions/{decision}/competitors": 4,
    "/api/decisions/{decision}/market-research": 5,
    "/api/decisions/{decision}/evidence": 4,
    "/api/decisions/{decision}/outputs": 4,
    "/api/decisions/{decision}/jobs": 3,
    "/api/report-builder/documents": 5,
    "/api/report-builder/documents/{document}": 4,
    "/api/report-builder/documents/{document}/blocks": 3,
    "/api/report-builder/documents/{document}/blocks/{block}": 3,
    "/api/report-builder/documents/{document}/blocks/{block}/revisions": 4,
    "/api/report-builder/jobs": 2,
    "/api/report-builder/jobs/{analysis}": 2,
    "/api/interviews": 4,
    "/api/interviews/{interview}": 3,
    "/api/themes": 3,
    "/api/themes/{theme}": 2,
    "/api/themes/audit-entries": 3,
    "/api/roadmap/projects": 3,
    "/api/roadmap/projects/{project}": 2,
    "/api/roadmap/projects/{project}/suggestions": 4,
    "/api/roadmap/suggestions/{suggestion}": 2,
    "/api/comparisons": 3,
    "/api/comparisons/{comparison}": 2,
    "/api/ops/summary": 12,
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


@pytest.mark.parametrize("rows", [2, 5])
def test_queries_per_request_do_not_grow_with_rows(rows: int, org: Any, user: Any) -> None:
    user.is_staff = True  # the ops summary is staff only
    user.save(update_fields=["is_staff"])
    made = populate(org, user, rows)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
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
    fails on one query more or less."""
    made = populate(org, user, 3)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    with django_assert_num_queries(EXPECTED["/api/jobs"]):
        # 3 diagnostic jobs and 3 x 3 report jobs (one per block)
        assert client.get("/api/jobs").json()["count"] == 3 + 3 * 3
    with django_assert_num_queries(EXPECTED["/api/jobs/{job}"]):
        assert client.get(f"/api/jobs/{made['job'].id}").status_code == 200
