"""The report builder's job types, registered with the job platform (imported by
ReportsConfig.ready()): `report_generate`, `report_refine` and `report_analyze`,
one handler (handlers/analysis.py)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse

from jobs.registry import JobType, register
from reports import services
from reports.handlers.analysis import AnalysisInput, run_analysis


def _document_link(job: Any) -> str | None:
    """A report job is followed in its document's editor."""
    document_id = (job.input or {}).get("document_id")
    return reverse("report-editor", args=[document_id]) if document_id else None


def _block_lock(input: Any, scope: str) -> str:
    # One job at a time writes a given block; document-wide ANALYZE jobs queue per document.
    return f"reports:block:{input.get('block_id') or scope}"


for _type, _name in services.JOB_TYPES.items():
    register(
        JobType(
            name=_name,
            handler=run_analysis,
            title=f"Report {_type.lower()}",
            description=f"{_type} a report block with Claude (report builder).",
            input_serializer=AnalysisInput,
            public=False,  # created through POST /api/report-builder/jobs only
            poll_interval_ms=settings.REPORTS_POLL_INTERVAL_MS,
            max_duration_seconds=settings.REPORTS_MAX_DURATION_SECONDS,
            typical_duration="2-30 seconds",
            lock=_block_lock,
            link=_document_link,
            link_label="open report",
        )
    )
