"""`python -m tests.faults.worker_main [worker options]`: `manage.py procrastinate
worker` with the fault suite's test-only job types (fault_jobs.py) and, with
FAULTS_TICKS=1, its periodic task (fault_tasks.py) registered."""

from __future__ import annotations

import os
import sys

import django

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.core.management import execute_from_command_line

    import tests.faults.fault_jobs  # noqa: F401  (the test-only job types)

    if os.environ.get("FAULTS_TICKS") == "1":
        import tests.faults.fault_tasks  # noqa: F401  (faults.tick and its schedules)

    execute_from_command_line(["manage.py", "procrastinate", "worker", *sys.argv[1:]])
