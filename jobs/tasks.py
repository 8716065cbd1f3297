"""Procrastinate tasks of the platform (autodiscovered by procrastinate.contrib.django).

The job runner itself lives in `jobs.runtime`; importing it here registers it.
Maintenance runs as periodic tasks: Procrastinate defers each tick once across
all workers, so there is no external cron.
"""

from __future__ import annotations

from procrastinate.contrib.django import app

from jobs import maintenance, runlogs
from jobs.runtime import run_job  # noqa: F401  (registers the jobs.run task)

MAINTENANCE_QUEUE = "maintenance"


@app.periodic(cron="* * * * *", periodic_id="jobs-expire")
@app.task(name="jobs.maintenance.expire", queue=MAINTENANCE_QUEUE, pass_context=False)
def expire_stuck_jobs(timestamp: int) -> int:
    return maintenance.expire_stuck_jobs()


@app.periodic(cron="* * * * *", periodic_id="jobs-rescue")
@app.task(name="jobs.maintenance.rescue", queue=MAINTENANCE_QUEUE, pass_context=False)
def rescue_stalled_jobs(timestamp: int) -> int:
    rescued = maintenance.rescue_stalled_jobs()
    # The run logs of attempts lost with their worker (rescued now or earlier): failed.
    runlogs.run_logs_sweep()
    return rescued


@app.periodic(cron="17 * * * *", periodic_id="jobs-prune")
@app.task(name="jobs.maintenance.prune", queue=MAINTENANCE_QUEUE, pass_context=False)
def prune_old_jobs(timestamp: int) -> int:
    return maintenance.prune_old_jobs()
