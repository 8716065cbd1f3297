"""The bare Procrastinate side of the comparison: no-op tasks registered, for
the benchmark only, on the project's own Procrastinate app (same connector,
same worker settings), so the only difference from the platform's side is the
platform's wrapper: its Job row, transitions, events and notifications.

Imported by the bench driver and the bench worker after `django.setup()`.
"""

from __future__ import annotations

from procrastinate.contrib.django import app

BARE_SYNC = "bench.noop"
BARE_ASYNC = "bench.anoop"
BARE_LLM = "bench.allm"


def _register() -> None:
    if BARE_SYNC in app.tasks:
        return

    @app.task(name=BARE_SYNC, queue="default")
    def noop() -> None:
        """Runs in a worker thread, as the platform's `jobs.run` does."""
        return None

    @app.task(name=BARE_ASYNC, queue="default")
    async def anoop() -> None:
        """Runs on the worker's event loop: bare Procrastinate at its fastest."""
        return None

    @app.task(name=BARE_LLM, queue="default")
    async def allm(index: int = 0, stream: bool = False) -> None:
        """One chat completion through the same SDK (AsyncOpenAI) and settings as the
        platform's client, with nothing around it: no job row, no limiter, no log."""
        from django.conf import settings

        client = _openai(settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL,
                         float(settings.LLM_TIMEOUT_SECONDS))
        messages = [{"role": "user", "content": f"Bench call {index}: one short sentence."}]
        if stream:
            chunks = await client.chat.completions.create(
                model=settings.OPENAI_MODEL, messages=messages, max_tokens=1024, stream=True,
                stream_options={"include_usage": True})
            async with chunks:
                async for _ in chunks:
                    pass
        else:
            await client.chat.completions.create(
                model=settings.OPENAI_MODEL, messages=messages, max_tokens=1024)


_clients: dict = {}


def _openai(key: str, base_url: str | None, timeout: float):  # type: ignore[no-untyped-def]
    import asyncio

    import openai

    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        client = _clients[loop] = openai.AsyncOpenAI(api_key=key, base_url=base_url,
                                                     timeout=timeout, max_retries=0)
    return client


_register()
