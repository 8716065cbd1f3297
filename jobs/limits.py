"""Admission control: active-job limits per organization, user and decision.

Exact under concurrency: the check runs inside the creating transaction under
a per-organization advisory lock, so concurrent creates for one organization
queue on the lock and each counts the rows the previous ones committed.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection

from jobs.errors import AdmissionRefused
from jobs.locks import xact_lock

MESSAGE = "Too many active jobs. Please wait for some to complete."


def admit(*, organization_id: Any, user_id: Any = None, decision_id: Any = None) -> None:
    """Raise AdmissionRefused if one more active job would pass a limit.

    Must run inside the transaction that creates the job.
    """
    assert connection.in_atomic_block, "admit() must run inside the creating transaction"
    conf = settings.JOBS
    xact_lock(f"jobs:admission:{organization_id}")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), "
            "count(*) FILTER (WHERE user_id = %s), "
            "count(*) FILTER (WHERE decision_id = %s) "
            "FROM jobs_job WHERE organization_id = %s AND status IN ('pending', 'running')",
            [user_id, decision_id, str(organization_id)],
        )
        org_count, user_count, decision_count = cursor.fetchone()
    retry_after = int(conf["LIMIT_RETRY_AFTER_SECONDS"])
    if org_count >= conf["LIMIT_PER_ORG"]:
        raise AdmissionRefused(MESSAGE, scope="organization", retry_after=retry_after)
    if user_id is not None and user_count >= conf["LIMIT_PER_USER"]:
        raise AdmissionRefused(MESSAGE, scope="user", retry_after=retry_after)
    if decision_id is not None and decision_count >= conf["LIMIT_PER_DECISION"]:
        raise AdmissionRefused(MESSAGE, scope="decision", retry_after=retry_after)
