"""The wire-level fake OpenAI for the `llm` scenario, in a process of its own.

    python bench/llm_fake.py --delay 2 --chunks 5

Prints the base URL, then serves until stdin closes. Each chat completion is
answered after `delay` seconds; a streamed one comes in `chunks` pieces spread
over the same `delay` (tests/fakes/server.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--delay", type=float, default=2.0)
    parser.add_argument("--chunks", type=int, default=5)
    args = parser.parse_args()
    from tests.fakes.fixtures import OPENAI_KEY, start_openai

    fake = start_openai()
    fake.delay, fake.stream_chunks = args.delay, args.chunks
    fake.reply = "The bench's answer: self-serve onboarding moved the market this quarter."
    print(f"{fake.url}/v1 {OPENAI_KEY}", flush=True)
    sys.stdin.read()
    fake.stop()


if __name__ == "__main__":
    main()
