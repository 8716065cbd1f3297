"""The `themes.scan` job type and its daily schedule (a Procrastinate periodic task)."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from procrastinate.contrib.django import app

from jobs.models import Job, Organization
from jobs.registry import JobType, register
from jobs.runlogs import run_log
from jobs.runtime import JobContext
from themes import services
from themes.scanner import ScanResult, theme_scan_run
from themes.serializers import ThemeScanInput
from themes.signals import scan_finished

logger = logging.getLogger(__name__)


def _actor(job: Job) -> str:
    who = f" by {job.user.get_username()}" if job.user is not None else ""
    return f"job:{job.id} ({job.source}{who})"


def run_scan(ctx: JobContext) -> dict[str, Any]:
    organization = Organization.objects.filter(id=ctx.input["org_id"], is_active=True).first()
    if organization is None:  # deactivated since it was queued: nothing to scan
        gone = ScanResult(dry_run=bool(ctx.input["dry_run"]))
        gone.skipped.append({"reason": "The organization is no longer active"})
        return gone.as_dict()
    ctx.progress(5, "Reading recent interviews...")
    with run_log(job_type=services.SCAN_JOB_TYPE, job=ctx.job,
                 metadata={"organization": organization.slug}) as log:
        result = theme_scan_run(
            organization=organization,
            lookback_days=int(ctx.input["lookback_days"]),
            max_interviews=int(ctx.input["max_interviews"]),
            dry_run=bool(ctx.input["dry_run"]),
            job=ctx.job,
            actor=_actor(ctx.job),
            step=ctx.step,
            progress=ctx.progress,
        )
        log.processed, log.failed = len(result.themes), len(result.skipped)
        log.metadata.update({
            "themes_created": result.themes_created, "themes_updated": result.themes_updated,
            "links_created": result.links_created, "dry_run": result.dry_run})
    if not result.dry_run:
        ctx.on_complete(lambda: _announce(organization.id, ctx.job_id, result))
    verb = "would create" if result.dry_run else "created"
    ctx.progress(98, f"{result.themes_created} themes {verb}, {result.themes_updated} updated")
    return result.as_dict()


def _announce(organization_id: Any, job_id: Any, result: ScanResult) -> None:
    """Tell listeners (the roadmap) in the completing transaction; their failure is not ours."""
    try:
        with transaction.atomic():
            scan_finished.send(
                sender=services.SCAN_JOB_TYPE,
                organization_id=organization_id,
                job_id=job_id,
                themes_created=result.themes_created,
                themes_updated=result.themes_updated,
            )
    except Exception:
        logger.exception("a scan_finished receiver failed; the scan completes anyway")


register(JobType(
    name=services.SCAN_JOB_TYPE,
    handler=run_scan,
    title="Theme scan",
    description="Scan an organization's recent interviews for recurring themes.",
    input_serializer=ThemeScanInput,
    max_duration_seconds=600,
    poll_interval_ms=2000,
    typical_duration="10-60 seconds",
    public=False,
    # One scan of an organization runs at a time, and one more may wait.
    lock=lambda input, scope: f"themes:scan:{input['org_id']}",
    queueing_lock=lambda input, scope: f"themes:scan:{input['org_id']}",
))


@app.periodic(cron="0 6 * * *", periodic_id="themes-daily-scan")
@app.task(name="themes.schedule_scans", queue="maintenance", pass_context=False)
def schedule_scans(timestamp: int) -> dict[str, int]:
    """Daily at 06:00 UTC: one scan per active organization."""
    return services.theme_scans_schedule(source="schedule")
