"""Property-based fuzzing of every operation in /api/schema/ against a live server.

Schemathesis generates valid (positive) and invalid (negative) requests from
the OpenAPI schema the server itself serves; each goes over HTTP to a running
server (pytest-django's live server, on the test database). No answer may be
a 500, and every error must be a JSON body. About 0.1 s per request on the
2-core machine, so it runs with FAULTS=1 only (FUZZ_EXAMPLES per operation and
mode, 60 by default).
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode

from tests.faults.conftest import record

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.faults]

SECRET = "fuzz-secret"
SECRET_SETTINGS = ("INTERNAL_SHARED_SECRET", "JOB_SECRET", "WARMUP_SECRET")
SECRET_HEADERS = ("X-Internal-Secret", "X-Job-Secret", "X-Warmup-Secret")


def examples_per_operation() -> int:
    return int(os.environ.get("FUZZ_EXAMPLES", "60"))


def is_json(response: Any) -> bool:
    content_type = " ".join(response.headers.get("content-type", []))
    if "json" not in content_type:
        return False
    try:
        json.loads(response.content or b"")
    except ValueError:
        return False
    return True


def problem(response: Any) -> str | None:
    """Why this answer is wrong, or None."""
    if response.status_code == 500 or (response.status_code > 500 and not is_json(response)):
        return f"{response.status_code} server error"
    if response.status_code >= 400 and not is_json(response):
        return f"{response.status_code} without a JSON body"
    return None


@pytest.fixture
def fuzz_target(live_server: Any, settings: Any, clean_queue: None, user: Any) -> dict[str, Any]:
    for name in SECRET_SETTINGS:
        setattr(settings, name, SECRET)
    token, _ = Token.objects.get_or_create(user=user)
    # One connection per request: Django's test server leaves a body the view did not
    # read (a 401 before parsing) on a keep-alive connection, where it is taken for
    # the next request line (http.server's HTML 400). The fuzz is about the
    # application's answers, not that test server's keep-alive handling.
    headers = {"Authorization": f"Token {token.key}", "Connection": "close",
               **dict.fromkeys(SECRET_HEADERS, SECRET)}
    raw = requests.get(f"{live_server.url}/api/schema/", params={"format": "json"}, timeout=30)
    assert raw.status_code == 200, raw.text[:500]
    return {"url": live_server.url, "headers": headers, "schema": raw.json()}


def fuzz(operation: Any, mode: GenerationMode, target: dict[str, Any],
         session: requests.Session, failures: list[str]) -> int:
    """Send generated requests for one operation; returns how many were sent."""
    sent = 0

    @settings(max_examples=examples_per_operation(), deadline=None, database=None,
              derandomize=True, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def probe(case: Any) -> None:
        nonlocal sent
        response = case.call(base_url=target["url"], session=session,
                             headers=target["headers"], timeout=30)
        sent += 1
        why = problem(response)
        if why:
            failures.append(f"{operation.method.upper()} {operation.path} ({mode.value}): "
                            f"{why}: {response.request.url} "
                            f"{str(response.request.body)[:200]!r} -> {response.content[:200]!r}")

    try:
        probe()
    except Unsatisfiable:
        return -1  # nothing invalid to generate (no parameter to break): not a finding
    return sent


def test_every_operation_answers_without_500_and_every_error_is_json(fuzz_target):
    schema = schemathesis.openapi.from_dict(fuzz_target["schema"])
    session = requests.Session()
    failures: list[str] = []
    sent = operations = unsatisfiable = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path.endswith("/events"):
            continue  # the event stream never ends for a live job: tests/realtime covers it
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            count = fuzz(operation, mode, fuzz_target, session, failures)
            unsatisfiable += count < 0
            sent += max(count, 0)
    record("schema fuzzing (schemathesis, positive and negative)", did=sent,
           lost=len(failures),
           note=f"{operations} operations, {examples_per_operation()} examples per operation "
                "and mode; a loss is a 500 or an error without a JSON body")
    assert operations >= 40
    assert not failures, "\n".join(sorted({f.split(": http")[0] for f in failures}))
