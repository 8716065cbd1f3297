"""The production web server set-up, one place for `manage.py serve` (`make run`)
and the benchmarks (bench/web.py): uvicorn with WEB_WORKERS processes (default:
one per CPU, at most 4), each serving sync views from WEB_THREADS threads (config.asgi).

Chosen by measurement (bench/RESULTS.md, routes; bench/ANALYSIS.md): every
request's CPU is Python's, so one process per core is what scales; more
processes than cores only add switching.
"""

from __future__ import annotations

import os
import sys

from django.core.exceptions import ImproperlyConfigured

# The default's cap: each process holds up to WEB_DB_POOL_SIZE connections for
# its threads and 4 for the poll route, so a many-core machine's default stays
# within PostgreSQL's default max_connections (100). Set WEB_WORKERS for more.
DEFAULT_MAX_WORKERS = 4


def web_workers() -> int:
    raw = os.environ.get("WEB_WORKERS", "")
    if not raw:
        return max(1, min(os.cpu_count() or 1, DEFAULT_MAX_WORKERS))
    try:
        workers = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"WEB_WORKERS must be an integer, got {raw!r}") from None
    if workers < 1:
        raise ImproperlyConfigured(f"WEB_WORKERS must be at least 1, got {workers}")
    return workers


def uvicorn_command(host: str, port: int, *, workers: int | None = None,
                    extra: list[str] | None = None) -> list[str]:
    """The command line that runs the web server."""
    return [
        sys.executable, "-m", "uvicorn", "config.asgi:application",
        "--host", host, "--port", str(port),
        "--workers", str(workers or web_workers()),
        "--no-access-log",
        *(extra or []),
    ]
