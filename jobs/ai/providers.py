"""The providers behind `jobs.ai.llm.complete`: OpenAI, Anthropic, and offline.

Each takes a prompt and answers text plus token usage. The SDK clients are
built with `max_retries=0`: the platform's retry policy (by error kind, with
back-off and Retry-After) decides, not the SDK. A client is kept per
(key, base URL, timeout), so its HTTP connection pool is reused across calls.

The async forms (`*_aanswer`, `*_astream`) use the SDKs' own async clients
(`AsyncOpenAI`, `AsyncAnthropic`), one per event loop, with the same error
mapping; `*_astream` yields the text pieces as the provider writes them, then
the whole answer with its token counts.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from functools import lru_cache
from typing import Any

from django.conf import settings

from jobs.ai.errors import map_provider_error
from jobs.ai.offline import (  # noqa: F401  (the offline provider's names, re-exported)
    OFFLINE_MODEL,
    OFFLINE_PREFIX,
    OfflineBuilder,
    RawAnswer,
    keywords,
    offline_answer,
)
from jobs.errors import AuthError


@lru_cache(maxsize=8)
def _openai_client(api_key: str, base_url: str | None, timeout: float) -> Any:
    import openai

    return openai.OpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0)


@lru_cache(maxsize=8)
def _anthropic_client(api_key: str, base_url: str | None, timeout: float) -> Any:
    import anthropic

    return anthropic.Anthropic(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0)


def openai_client() -> Any:
    """The configured OpenAI client; AuthError when there is no key."""
    if not settings.OPENAI_API_KEY:
        raise AuthError("No OpenAI API key configured")
    return _openai_client(
        settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL, float(settings.LLM_TIMEOUT_SECONDS)
    )


def anthropic_client() -> Any:
    """The configured Anthropic client; AuthError when there is no key."""
    if not settings.ANTHROPIC_API_KEY:
        raise AuthError("No Anthropic API key configured")
    return _anthropic_client(
        settings.ANTHROPIC_API_KEY, settings.ANTHROPIC_BASE_URL,
        float(settings.LLM_TIMEOUT_SECONDS),
    )


def prepare(provider: str) -> None:
    """Check the key and build the client before waiting for a rate-limit slot.

    A missing key fails before a slot is spent, and the request leaves as soon
    as the slot comes instead of after the client's construction.
    """
    if provider == "openai":
        openai_client()
    elif provider == "anthropic":
        anthropic_client()


# --- one request builder and one answer reader per provider, for the sync and async calls


def _openai_request(
    prompt: str, system: str, want_json: bool, max_tokens: int, model: str | None
) -> dict[str, Any]:
    messages = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": prompt}
    ]
    kwargs: dict[str, Any] = {
        "model": model or settings.OPENAI_MODEL, "messages": messages, "max_tokens": max_tokens,
    }
    if want_json:
        kwargs["response_format"] = {"type": "json_object"}
    return kwargs


def _openai_result(response: Any, model_name: str) -> RawAnswer:
    usage = response.usage
    return RawAnswer(
        text=response.choices[0].message.content or "",
        model=response.model or model_name,
        prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
        completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
    )


def _anthropic_request(
    prompt: str, system: str, want_json: bool, max_tokens: int, model: str | None
) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "model": model or settings.ANTHROPIC_MODEL, "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": prompt}],
    }
    if system:
        kwargs["system"] = system
    return kwargs


def _anthropic_result(response: Any, model_name: str) -> RawAnswer:
    usage = response.usage
    return RawAnswer(
        text="".join(getattr(block, "text", "") for block in response.content),
        model=response.model or model_name,
        prompt_tokens=getattr(usage, "input_tokens", 0) or 0,
        completion_tokens=getattr(usage, "output_tokens", 0) or 0,
    )


def openai_answer(
    *, prompt: str, system: str, want_json: bool, max_tokens: int, model: str | None
) -> RawAnswer:
    client = openai_client()
    kwargs = _openai_request(prompt, system, want_json, max_tokens, model)
    try:
        return _openai_result(client.chat.completions.create(**kwargs), kwargs["model"])
    except Exception as exc:
        raise map_provider_error(exc, provider="openai") from exc


def anthropic_answer(
    *, prompt: str, system: str, want_json: bool, max_tokens: int, model: str | None
) -> RawAnswer:
    client = anthropic_client()
    kwargs = _anthropic_request(prompt, system, want_json, max_tokens, model)
    try:
        return _anthropic_result(client.messages.create(**kwargs), kwargs["model"])
    except Exception as exc:
        raise map_provider_error(exc, provider="anthropic") from exc


# --- async: the SDKs' own async clients ---------------------------------------------
#
# An httpx async client belongs to the event loop it was first used on, so the
# async clients are kept per loop (a worker has one; the tests start several).

_async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple, Any]] = (
    weakref.WeakKeyDictionary()
)


def _async_client(kind: str, api_key: str, base_url: str | None, timeout: float) -> Any:
    loop = asyncio.get_running_loop()
    clients = _async_clients.setdefault(loop, {})
    key = (kind, api_key, base_url, timeout)
    client = clients.get(key)
    if client is None:
        if kind == "openai":
            import openai

            client = openai.AsyncOpenAI(
                api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0
            )
        else:
            import anthropic

            client = anthropic.AsyncAnthropic(
                api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0
            )
        clients[key] = client
    return client


def async_openai_client() -> Any:
    """The configured AsyncOpenAI client of the running loop; AuthError without a key."""
    if not settings.OPENAI_API_KEY:
        raise AuthError("No OpenAI API key configured")
    return _async_client(
        "openai", settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL,
        float(settings.LLM_TIMEOUT_SECONDS),
    )


def async_anthropic_client() -> Any:
    """The configured AsyncAnthropic client of the running loop; AuthError without a key."""
    if not settings.ANTHROPIC_API_KEY:
        raise AuthError("No Anthropic API key configured")
    return _async_client(
        "anthropic", settings.ANTHROPIC_API_KEY, settings.ANTHROPIC_BASE_URL,
        float(settings.LLM_TIMEOUT_SECONDS),
    )


def aprepare(provider: str) -> None:
    """`prepare` for the async clients (no I/O: the client is only built)."""
    if provider == "openai":
        async_openai_client()
    elif provider == "anthropic":
        async_anthropic_client()


async def openai_aanswer(
    *, prompt: str, system: str, want_json: bool, max_tokens: int, model: str | None
) -> RawAnswer:
    client = async_openai_client()
    kwargs = _openai_request(prompt, system, want_json, max_tokens, model)
    try:
        return _openai_result(await client.chat.completions.create(**kwargs), kwargs["model"])
    except Exception as exc:
        raise map_provider_error(exc, provider="openai") from exc


async def anthropic_aanswer(
    *, prompt: str, system: str, want_json: bool, max_tokens: int, model: str | None
) -> RawAnswer:
    client = async_anthropic_client()
    kwargs = _anthropic_request(prompt, system, want_json, max_tokens, model)
    try:
        return _anthropic_result(await client.messages.create(**kwargs), kwargs["model"])
    except Exception as exc:
        raise map_provider_error(exc, provider="anthropic") from exc


async def openai_astream(
    *, prompt: str, system: str, want_json: bool, max_tokens: int, model: str | None
) -> AsyncIterator[str | RawAnswer]:
    """The answer's text pieces as they arrive, then the whole answer (a RawAnswer)."""
    client = async_openai_client()
    kwargs = _openai_request(prompt, system, want_json, max_tokens, model)
    parts: list[str] = []
    model_name, prompt_tokens, completion_tokens = kwargs["model"], 0, 0
    try:
        stream = await client.chat.completions.create(
            **kwargs, stream=True, stream_options={"include_usage": True}
        )
        async with stream:
            async for chunk in stream:
                model_name = chunk.model or model_name
                if chunk.usage is not None:
                    prompt_tokens = chunk.usage.prompt_tokens or 0
                    completion_tokens = chunk.usage.completion_tokens or 0
                for choice in chunk.choices or []:
                    piece = choice.delta.content if choice.delta is not None else None
                    if piece:
                        parts.append(piece)
                        yield piece
    except Exception as exc:
        raise map_provider_error(exc, provider="openai") from exc
    yield RawAnswer(text="".join(parts), model=model_name, prompt_tokens=prompt_tokens,
                    completion_tokens=completion_tokens)


async def anthropic_astream(
    *, prompt: str, system: str, want_json: bool, max_tokens: int, model: str | None
) -> AsyncIterator[str | RawAnswer]:
    """The answer's text pieces as they arrive, then the whole answer (a RawAnswer)."""
    client = async_anthropic_client()
    kwargs = _anthropic_request(prompt, system, want_json, max_tokens, model)
    try:
        async with client.messages.stream(**kwargs) as stream:
            async for piece in stream.text_stream:
                if piece:
                    yield piece
            final = await stream.get_final_message()
    except Exception as exc:
        raise map_provider_error(exc, provider="anthropic") from exc
    yield _anthropic_result(final, kwargs["model"])


async def aclose_clients() -> None:
    """Close the running loop's async clients (before a short-lived loop ends)."""
    clients = _async_clients.pop(asyncio.get_running_loop(), {})
    for client in clients.values():
        await client.close()
