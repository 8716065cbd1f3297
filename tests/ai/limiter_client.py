"""A separate OS process that asks the LLM through the shared limiter (see test_ratelimit).

Run as `python -m tests.ai.limiter_client <calls> <limiter key>` with the
settings in the environment. It prints "ready" once Django is set up, waits
for a line on stdin so every process starts at once (after one warm-up
call, which the test leaves out), makes its calls, and
prints "done".
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    calls, key = int(sys.argv[1]), sys.argv[2]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connection

    from jobs.ai import llm

    # Warm up: the SDK's first request in a process builds its models and opens a
    # connection (tens of ms); long-lived workers have done that long before.
    llm.complete(prompt="warm-up", limiter_key=f"warm-up:{os.getpid()}")
    print("ready", flush=True)
    sys.stdin.readline()
    for _ in range(calls):
        llm.complete(prompt=f"process {os.getpid()}", limiter_key=key, purpose="limiter-test")
    connection.close()
    print("done", flush=True)


if __name__ == "__main__":
    main()
