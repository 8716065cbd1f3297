"""The providers behind `jobs.ai.llm.complete`: OpenAI, Anthropic, and offline.

Each takes a prompt and answers text plus token usage. The SDK clients are
built with `max_retries=0`: the platform's retry policy (by error kind, with
back-off and Retry-After) decides, not the SDK. A client is kept per
(key, base URL, timeout), so its HTTP connection pool is reused across calls.
"""

from __future__ import annotations

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


def openai_answer(
    *, prompt: str, system: str, want_json: bool, max_tokens: int, model: str | None
) -> RawAnswer:
    client = openai_client()
    messages = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": prompt}
    ]
    kwargs: dict[str, Any] = {}
    if want_json:
        kwargs["response_format"] = {"type": "json_object"}
    model_name = model or settings.OPENAI_MODEL
    try:
        response = client.chat.completions.create(
            model=model_name, messages=messages, max_tokens=max_tokens, **kwargs
        )
        text = response.choices[0].message.content or ""
    except Exception as exc:
        raise map_provider_error(exc, provider="openai") from exc
    usage = response.usage
    return RawAnswer(
        text=text,
        model=response.model or model_name,
        prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
        completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
    )


def anthropic_answer(
    *, prompt: str, system: str, want_json: bool, max_tokens: int, model: str | None
) -> RawAnswer:
    client = anthropic_client()
    model_name = model or settings.ANTHROPIC_MODEL
    kwargs: dict[str, Any] = {"system": system} if system else {}
    try:
        response = client.messages.create(
            model=model_name,
            max_tokens=max_tokens,
            messages=[{"role": "user", "content": prompt}],
            **kwargs,
        )
        text = "".join(getattr(block, "text", "") for block in response.content)
    except Exception as exc:
        raise map_provider_error(exc, provider="anthropic") from exc
    usage = response.usage
    return RawAnswer(
        text=text,
        model=response.model or model_name,
        prompt_tokens=getattr(usage, "input_tokens", 0) or 0,
        completion_tokens=getattr(usage, "output_tokens", 0) or 0,
    )
