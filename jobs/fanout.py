"""Scheduled fan-outs: one job per organization (or project), with a run log.

    fan_out(Organization.objects.filter(is_active=True), log_type="themes.schedule_scans",
            create=lambda org: theme_scan_start(organization=org, source="schedule"),
            organization_of=lambda org: org)

For each item: an item whose organization is deactivated is skipped (counted,
no job); one already queued (`JobAlreadyQueued`) is left alone; a create that
is refused for any other reason (admission limits, invalid input, a database
error on that one row) is logged and counted as a failure in the run log, and
the fan-out goes on with the next item. Each create runs in its own savepoint,
so one refused create cannot poison the others' transaction.

Returns `{"queued": n, "already_queued": n}`, plus `refused` and `skipped`
when they are not zero; the run log's metadata has all four.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.db import transaction

from jobs.errors import JobAlreadyQueued
from jobs.models import Organization, RunLog
from jobs.runlogs import run_log_count, run_log_finish, run_log_start

logger = logging.getLogger(__name__)
T = TypeVar("T")


def fan_out(
    items: Iterable[T],
    *,
    log_type: str,
    create: Callable[[T], Any],
    organization_of: Callable[[T], Organization],
    describe: Callable[[T], str] = str,
) -> dict[str, int]:
    """Create one job per item (see the module docstring)."""
    log = run_log_start(job_type=log_type)
    counts = {"queued": 0, "already_queued": 0, "refused": 0, "skipped": 0}
    for item in items:
        if not organization_of(item).is_active:
            counts["skipped"] += 1
            logger.info("%s: %s skipped, its organization is deactivated",
                        log_type, describe(item))
            continue
        try:
            with transaction.atomic():
                create(item)
        except JobAlreadyQueued:
            counts["already_queued"] += 1
            logger.info("%s: a job for %s is already queued", log_type, describe(item))
        except Exception as exc:  # noqa: BLE001  (one refused create does not stop the others)
            counts["refused"] += 1
            logger.warning("%s: the job for %s was refused: %s", log_type, describe(item), exc,
                           exc_info=True)
            run_log_count(log, ok=False, error=f"{describe(item)}: {exc}")
        else:
            counts["queued"] += 1
            run_log_count(log, ok=True)
    run_log_finish(log, status=RunLog.Status.SUCCESS, metadata=dict(counts))
    return {k: v for k, v in counts.items()
            if k in ("queued", "already_queued") or v}
