"""Admission control: active-job limits for what people start.

The seed's limits (5 per organization, 3 per user, 2 per decision; "prevent
abuse, fair usage", "too many is confusing") are about the jobs people start,
so only user-started jobs count and are checked: `Job.source` "api" (the
API and pages), and "task" (Django tasks enqueued in a `task_scope` with an
organization, on a request's behalf):

- organization: the organization's active user-started jobs;
- user: the person's active user-started jobs across ALL their organizations
  (a member of two organizations still runs 3, not 6);
- decision: the decision's active user-started jobs.

Scheduled and internal jobs (`source` "schedule", "internal", "event",
"admin": a roadmap refresh, a warmup, a theme scan) neither count nor are
checked here: their own locks bound them (each type's queueing lock and lock:
one queued and one running per project, organization or warmup type), so a
Monday refresh never takes a user's budget.

Exact under concurrency: the check runs inside the creating transaction under
advisory locks on the organization and then the user, always in that order
(so two creates, in two organizations, of one person cannot deadlock), and
counts in a statement that starts after both are held, so it sees every row
the previous holders committed. The decision belongs to the organization, so
the organization's lock covers it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection

from jobs.errors import AdmissionRefused
from jobs.locks import lock_key

MESSAGE = "Too many active jobs. Please wait for some to complete."

# The `Job.source` of jobs a person started; everything else is the system's.
USER_SOURCES = ("api", "task")


def _lock(organization_id: Any, user_id: Any) -> None:
    keys = [lock_key(f"jobs:admission:{organization_id}")]
    if user_id is not None:
        keys.append(lock_key(f"jobs:admission:user:{user_id}"))
    with connection.cursor() as cursor:
        # One round trip; a target list is evaluated left to right, so the
        # organization's lock is always taken before the user's.
        cursor.execute(
            "SELECT " + ", ".join("pg_advisory_xact_lock(%s)" for _ in keys), keys
        )


def admit(*, organization_id: Any, user_id: Any = None, decision_id: Any = None) -> None:
    """Raise AdmissionRefused if one more user-started active job would pass a limit.

    Must run inside the transaction that creates the job.
    """
    assert connection.in_atomic_block, "admit() must run inside the creating transaction"
    conf = settings.JOBS
    _lock(organization_id, user_id)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE organization_id = %s), "
            "count(*) FILTER (WHERE user_id = %s), "
            "count(*) FILTER (WHERE decision_id = %s) "
            "FROM jobs_job WHERE status IN ('pending', 'running') AND source = ANY(%s) "
            "AND (organization_id = %s OR user_id = %s OR decision_id = %s)",
            [str(organization_id), user_id, decision_id, list(USER_SOURCES),
             str(organization_id), user_id, decision_id],
        )
        org_count, user_count, decision_count = cursor.fetchone()
    retry_after = int(conf["LIMIT_RETRY_AFTER_SECONDS"])
    if org_count >= conf["LIMIT_PER_ORG"]:
        raise AdmissionRefused(MESSAGE, scope="organization", retry_after=retry_after)
    if user_id is not None and user_count >= conf["LIMIT_PER_USER"]:
        raise AdmissionRefused(MESSAGE, scope="user", retry_after=retry_after)
    if decision_id is not None and decision_count >= conf["LIMIT_PER_DECISION"]:
        raise AdmissionRefused(MESSAGE, scope="decision", retry_after=retry_after)
