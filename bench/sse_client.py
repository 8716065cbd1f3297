"""N server-sent-event streams from one asyncio process, for the streaming figure.

    python bench/sse_client.py URL TOKEN N

Prints READY once every stream has its response headers (or FAILED <statuses>),
then, when the streams end or on timeout, one JSON line: for each progress value
seen, the arrival times (epoch seconds) at every stream.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from collections import defaultdict
from urllib.parse import urlsplit

_KIND = re.compile(rb'"kind":"(\w+)"')
_PROGRESS = re.compile(rb'"progress":(\d+)')


async def main(url: str, token: str, n: int, timeout: float = 120.0) -> None:
    parts = urlsplit(url)
    request = (
        f"GET {parts.path} HTTP/1.1\r\nHost: {parts.hostname}\r\n"
        f"Authorization: Token {token}\r\nAccept: text/event-stream\r\n\r\n"
    ).encode()
    arrivals: dict[int, list[float]] = defaultdict(list)
    statuses: list[int] = []
    ready = asyncio.Event()
    opened = 0

    async def stream() -> None:
        nonlocal opened
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        writer.write(request)
        status = int((await reader.readline()).split()[1])
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        statuses.append(status)
        opened += 1
        if opened == n:
            ready.set()
        if status != 200:
            writer.close()
            return
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                if line.startswith(b"data:") or b"data:" in line[:12]:
                    now = time.time()
                    # The server's compact JSON, read with two regexes rather
                    # than json.loads: one process reads every stream, and its
                    # own parsing of N copies of each event is in the figure.
                    kind = _KIND.search(line)
                    if kind is None:
                        continue
                    if kind.group(1) == b"progress":
                        progress = _PROGRESS.search(line)
                        if progress is not None:
                            arrivals[int(progress.group(1))].append(now)
                    if b'"final":true' in line:
                        break
        finally:
            writer.close()

    tasks = []
    for _ in range(n):
        tasks.append(asyncio.create_task(stream()))
        await asyncio.sleep(0.002)  # do not open all 1,000 in the same millisecond
    await asyncio.wait_for(ready.wait(), 60)
    bad = [s for s in statuses if s != 200]
    print("FAILED " + ",".join(map(str, bad)) if bad else "READY", flush=True)
    await asyncio.wait(tasks, timeout=timeout)
    print(json.dumps({str(k): v for k, v in arrivals.items()}), flush=True)


if __name__ == "__main__":
    try:  # the faster event loop when installed (uvicorn's own choice too)
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
