"""Follow a job from a shell: a text progress bar until it ends."""

from __future__ import annotations

import time
from typing import Any, Protocol

from jobs.models import FINAL_STATUSES, Job

BAR_WIDTH = 30


class Writable(Protocol):
    """A text stream: sys.stdout, or a management command's OutputWrapper."""

    def write(self, text: str, /) -> Any: ...

    def flush(self) -> Any: ...


def render_bar(progress: int, message: str) -> str:
    filled = round(BAR_WIDTH * max(0, min(100, progress)) / 100)
    return f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {progress:3d}% {message}"


def follow_job(job_id: Any, *, out: Writable, interval: float = 0.5, timeout: float = 3600) -> Job:
    """Print the job's progress (one line per change) until it finishes or `timeout` passes."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        job = Job.objects.get(id=job_id)
        state = (job.status, job.progress, job.status_message)
        if state != last:
            out.write(render_bar(job.progress, f"{job.status}: {job.status_message}") + "\n")
            out.flush()
            last = state
        if job.status in FINAL_STATUSES or time.monotonic() > deadline:
            return job
        time.sleep(interval)
