"""Test-only Procrastinate tasks, registered in worker processes started by
`python -m tests.faults.worker_main` (never in the product's own workers).

`faults.tick` records each periodic run in the table `faults_tick`, which the
periodic-task test creates in the test database. There is no unique key on
it: a tick run twice shows up as two rows.
"""

from __future__ import annotations

import os

from django.db import connection
from procrastinate.contrib.django import app

SCHEDULES = {"every-second": 1, "every-two-seconds": 2}


# (Two periodic decorators on one task: procrastinate's types expect one.)
@app.periodic(cron="* * * * * *", periodic_id="every-second",  # type: ignore[arg-type]
              task_kwargs={"schedule": "every-second"})
@app.periodic(cron="* * * * * */2", periodic_id="every-two-seconds",
              task_kwargs={"schedule": "every-two-seconds"})
@app.task(name="faults.tick", queue="faults", pass_context=False)
def tick(timestamp: int, schedule: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO faults_tick (schedule, timestamp, pid) VALUES (%s, %s, %s)",
            [schedule, timestamp, os.getpid()],
        )
