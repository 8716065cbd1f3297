"""Admission limits under concurrent creates (the fast part runs in make test)."""

from __future__ import annotations

import os
import threading

import pytest
from django.db import connections

from jobs import lifecycle
from jobs.errors import AdmissionRefused
from jobs.models import Job, Organization
from tests.faults.conftest import record

pytestmark = pytest.mark.django_db(transaction=True)


def one_round(org: Organization, attempts: int = 50) -> list[str]:
    barrier = threading.Barrier(attempts)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt() -> None:
        try:
            barrier.wait()
            try:
                lifecycle.job_create(job_type="diagnostic", input={}, organization=org)
                result = "accepted"
            except AdmissionRefused:
                result = "refused"
            with lock:
                outcomes.append(result)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt) for _ in range(attempts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_fifty_concurrent_creates_accept_exactly_five_every_round(clean_queue):
    rounds = int(os.environ.get("FAULTS_ROUNDS", "20" if os.environ.get("FAULTS") else "3"))
    accepted_per_round = []
    for n in range(rounds):
        org = Organization.objects.create(name=f"Race {n}", slug=f"race-{n}")
        outcomes = one_round(org)
        accepted_per_round.append(outcomes.count("accepted"))
        assert Job.objects.filter(organization=org).count() == 5
    record("50 concurrent creates for one organization", did=50 * rounds,
           lost=sum(1 for a in accepted_per_round if a != 5),
           note=f"{rounds} rounds, accepted per round: {sorted(set(accepted_per_round))}")
    assert accepted_per_round == [5] * rounds


def test_twenty_concurrent_http_creates_get_five_201s_and_fifteen_429s(live_server, org,
                                                                      make_user, clean_queue):
    """The same race through POST /api/jobs on a live server: the refusals are 429s with
    Retry-After and the limit's message. Seven users, so the per-user limit (3) is not
    what refuses them."""
    import requests
    from rest_framework.authtoken.models import Token

    tokens = [Token.objects.create(user=make_user(org)).key for _ in range(7)]
    barrier = threading.Barrier(20)
    answers: list[requests.Response] = []
    lock = threading.Lock()

    def post(n: int) -> None:
        session = requests.Session()
        headers = {"Authorization": f"Token {tokens[n % len(tokens)]}"}
        barrier.wait()
        response = session.post(f"{live_server.url}/api/jobs", json={"type": "diagnostic"},
                                headers=headers, timeout=30)
        with lock:
            answers.append(response)

    threads = [threading.Thread(target=post, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    codes = sorted(r.status_code for r in answers)
    refused = [r for r in answers if r.status_code == 429]
    assert codes == [201] * 5 + [429] * 15
    assert all(r.headers["Retry-After"] == "10" for r in refused)
    assert {r.json()["scope"] for r in refused} == {"organization"}
    assert {r.json()["detail"] for r in refused} == {
        "Too many active jobs. Please wait for some to complete."}
    assert Job.objects.filter(organization=org).count() == 5
