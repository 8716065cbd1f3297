"""`themes.scan`: an organization's recent interviews -> recurring themes (async handler).

The LLM call (`extract-themes`) awaits the provider on the async client, so a
scan waiting 60 s on the model holds no thread and no database connection, and
a cancel stops it mid-call. The reads and the audited writes (`apply-themes`,
one transaction) are the scanner's sync code on the worker's database pool.
Both parts are durable steps: a retry asks the model nothing it already answered.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from jobs import aio
from jobs.aruntime import AsyncJobContext
from jobs.models import Job, Organization
from jobs.runlogs import arun_log
from themes import scanner, services
from themes.scanner import ScanResult
from themes.selectors import interviews_recent
from themes.signals import scan_finished

logger = logging.getLogger(__name__)


def _actor(job: Job) -> str:
    who = f" by {job.user.get_username()}" if job.user is not None else ""
    return f"job:{job.id} ({job.source}{who})"


def _active_organization(org_id: Any) -> Organization | None:
    return Organization.objects.filter(id=org_id, is_active=True).first()


async def run_scan(ctx: AsyncJobContext) -> dict[str, Any]:
    dry_run = bool(ctx.input["dry_run"])
    organization = await aio.db(_active_organization, ctx.input["org_id"])
    if organization is None:  # deactivated since it was queued: nothing to scan
        gone = ScanResult(dry_run=dry_run)
        gone.skipped.append({"reason": "The organization is no longer active"})
        return gone.as_dict()
    await ctx.progress(5, "Reading recent interviews...")
    async with arun_log(job_type=services.SCAN_JOB_TYPE, job=ctx.job,
                        metadata={"organization": organization.slug}) as log:
        result = await _scan(ctx, organization, dry_run=dry_run)
        log.processed, log.failed = len(result.themes), len(result.skipped)
        log.metadata.update({
            "themes_created": result.themes_created, "themes_updated": result.themes_updated,
            "links_created": result.links_created, "dry_run": result.dry_run})
    if not result.dry_run:
        ctx.on_complete(lambda: _announce(organization.id, ctx.job_id, result))
    verb = "would create" if result.dry_run else "created"
    await ctx.progress(98, f"{result.themes_created} themes {verb}, "
                           f"{result.themes_updated} updated")
    return result.as_dict()


async def _scan(ctx: AsyncJobContext, organization: Organization, *, dry_run: bool) -> ScanResult:
    """`scanner.theme_scan_run`'s two durable steps, awaited."""
    lookback_days = int(ctx.input["lookback_days"])
    interviews = await aio.db(
        interviews_recent, organization=organization, lookback_days=lookback_days,
        max_interviews=int(ctx.input["max_interviews"]))
    if not interviews:
        return scanner.nothing_to_scan(dry_run, lookback_days)
    await ctx.progress(15, scanner.looking_message(interviews))
    extracted = await ctx.step(
        "extract-themes", lambda: scanner.athemes_extract(interviews=interviews, job=ctx.job))
    await ctx.progress(70, scanner.saving_message(extracted, dry_run))
    actor = await aio.db(_actor, ctx.job)
    applied = await ctx.step("apply-themes", lambda: aio.db(
        lambda: scanner.themes_apply(organization=organization, extracted=extracted,
                                     dry_run=dry_run, job=ctx.job, actor=actor).as_dict()))
    return ScanResult(**applied)


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
