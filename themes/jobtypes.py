"""The themes app's job types (imported by ThemesConfig.ready)."""

from __future__ import annotations

from jobs.registry import JobType, register
from themes import services
from themes.handlers.scan import run_scan
from themes.serializers import ThemeScanInput

SCAN = register(JobType(
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
