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
