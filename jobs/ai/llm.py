"""The LLM client every domain app uses.

    from jobs.ai import llm
    result = llm.complete(prompt="...", schema={...}, purpose="theme-scan", job=ctx.job,
                          offline=build_offline_answer)
    result.data  # parsed JSON, validated against the schema

The provider comes from settings (`LLM_PROVIDER`: auto picks OpenAI, then
Anthropic, by which key is configured, and the offline provider when neither
is). Each call waits for its slot in the provider's cluster-wide rate limit
(`llm:<provider>`; a caller's `limiter_key` adds its own, narrower budget on
top, never a way around the provider's) and, when configured, for room in the
provider's tokens-per-minute budget; it is logged
(`GenerationLog`), and raises the platform's error kinds: RateLimitedError
(429, honouring Retry-After, which also pushes the shared budget back),
RetryableJobError (timeouts, connection errors, 5xx), AuthError (no key,
401/403), ParseError (not the JSON asked for: the platform retries it once).

Call it outside `transaction.atomic()`: the limiter's row must not stay
locked while the provider answers.

Async code uses `await llm.acomplete(...)` (same arguments, the SDKs' async
clients; `on_text=` streams the answer piece by piece) or
`async for piece in llm.astream(...)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import json
import math
import re
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any, ParamSpec

import jsonschema
from django.conf import settings

from jobs import tracing
from jobs.ai import offline as offline_provider
from jobs.ai import providers, ratelimit
from jobs.ai.models import GenerationLog
from jobs.errors import JobError, ParseError, PermanentJobError, RateLimitedError
from jobs.models import ErrorKind, Job

PROVIDERS = ("openai", "anthropic", "offline")
P = ParamSpec("P")


@dataclass
class Completion:
    """One answer. Every field is JSON-serialisable (a durable step may store `__dict__`)."""

    text: str
    data: Any
    provider: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    duration_ms: int
    offline: bool

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def resolve_provider(requested: str | None = None) -> str:
    """The provider a call uses: the caller's, else LLM_PROVIDER (`auto`: by configured key)."""
    name = (requested or settings.LLM_PROVIDER or "auto").lower()
    if name == "auto":
        if settings.OPENAI_API_KEY:
            return "openai"
        if settings.ANTHROPIC_API_KEY:
            return "anthropic"
        return "offline"
    if name not in PROVIDERS:
        raise ValueError(f"unknown LLM provider {name!r}")
    return name


def default_limiter_key(provider: str) -> str:
    return f"llm:{provider}"


def _rate_for(key: str) -> float:
    limits: Mapping[str, float] = settings.LLM_RATE_LIMITS
    return float(limits.get(key, settings.LLM_REQUESTS_PER_SECOND))


def _tokens_per_minute(provider: str) -> float:
    budgets: Mapping[str, float] = getattr(settings, "LLM_TOKENS_PER_MINUTE", {}) or {}
    return float(budgets.get(provider, 0) or 0)


def estimate_tokens(*, prompt: str, system: str, max_tokens: int) -> int:
    """A pessimistic estimate to reserve before a call: ~4 characters a token, plus the answer."""
    return math.ceil((len(prompt) + len(system)) / 4) + max_tokens


_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.MULTILINE)


def parse_json(text: str, schema: Mapping[str, Any]) -> Any:
    """The JSON in an answer (code fences allowed), validated; ParseError otherwise."""
    cleaned = _FENCE.sub("", text.strip()).strip()
    try:
        data = json.loads(cleaned)
    except json.JSONDecodeError as exc:
        raise ParseError(f"The model did not return valid JSON: {exc}") from exc
    try:
        jsonschema.validate(data, schema)
    except jsonschema.ValidationError as exc:
        raise ParseError(f"The model's JSON does not match the schema: {exc.message}") from exc
    return data


def _json_system(system: str, schema: Mapping[str, Any] | None) -> str:
    if schema is None:
        return system
    return (
        f"{system}\n\nAnswer with one JSON object only, valid against this "
        f"JSON schema:\n{json.dumps(schema)}"
    ).strip()


def _offline_data(raw: offline_provider.RawAnswer, schema: Mapping[str, Any]) -> Any:
    # The offline answer is deterministic: a retry would build the same
    # invalid data, so this is a programming error, not a parse error.
    try:
        jsonschema.validate(raw.data, schema)
    except jsonschema.ValidationError as exc:
        raise PermanentJobError(
            f"The offline provider's answer does not match the schema: {exc.message} "
            "(pass an `offline` builder that produces valid data)"
        ) from exc
    return raw.data


def _traced(fn: Callable[P, Completion]) -> Callable[P, Completion]:
    """With tracing on, each call is one span with the GenAI semantic conventions."""

    @functools.wraps(fn)
    def call(*args: P.args, **kwargs: P.kwargs) -> Completion:
        if not tracing.enabled():
            return fn(*args, **kwargs)
        name = resolve_provider(kwargs.get("provider"))  # type: ignore[arg-type]
        model = kwargs.get("model") or _default_model(name)
        purpose = str(kwargs.get("purpose") or "")
        with tracing.llm_call(provider=name, model=str(model), purpose=purpose) as span:
            result = fn(*args, **kwargs)
            tracing.llm_result(span, model=result.model, input_tokens=result.prompt_tokens,
                               output_tokens=result.completion_tokens)
        return result

    return call


def _default_model(provider: str) -> str:
    if provider == "openai":
        return str(settings.OPENAI_MODEL)
    if provider == "anthropic":
        return str(settings.ANTHROPIC_MODEL)
    return offline_provider.OFFLINE_MODEL


@_traced
def complete(
    *,
    prompt: str,
    system: str = "",
    schema: Mapping[str, Any] | None = None,
    purpose: str = "",
    job: Job | None = None,
    limiter_key: str | None = None,
    provider: str | None = None,
    model: str | None = None,
    offline: offline_provider.OfflineBuilder | None = None,
    max_tokens: int = 1024,
) -> Completion:
    """Ask the configured (or named) provider; see the module docstring."""
    name = resolve_provider(provider)
    key = limiter_key or default_limiter_key(name)
    log = GenerationLog(
        job=job, purpose=purpose[:64], provider=name, offline=name == "offline",
        limiter_key=key if name != "offline" else "",
    )
    tpm = _tokens_per_minute(name) if name != "offline" else 0.0
    reserved = 0  # tokens taken from the budget, settled in `finally`
    waited = 0.0
    raw: offline_provider.RawAnswer | None = None
    started = time.monotonic()
    try:
        if name == "offline":
            raw = offline_provider.offline_answer(
                prompt=prompt, system=system, schema=schema, builder=offline
            )
            data = _offline_data(raw, schema) if schema is not None else raw.data
        else:
            providers.prepare(name)
            # Tokens first, then the request slot: the slot is the last wait,
            # so requests reach the provider spaced exactly as reserved.
            if tpm:
                estimate = estimate_tokens(prompt=prompt, system=system, max_tokens=max_tokens)
                waited += ratelimit.acquire_tokens(name, tokens=estimate, per_minute=tpm)
                reserved = estimate
            # A caller's own key is a budget within the provider's, never beside
            # it: its slot first, then the provider-wide one, which every call
            # of this provider shares whatever its key.
            provider_key = default_limiter_key(name)
            if key != provider_key:
                waited += ratelimit.acquire(key, rate=_rate_for(key))
            waited += ratelimit.acquire(provider_key, rate=_rate_for(provider_key))
            started = time.monotonic()
            call = providers.openai_answer if name == "openai" else providers.anthropic_answer
            raw = call(
                prompt=prompt,
                system=_json_system(system, schema),
                want_json=schema is not None,
                max_tokens=max_tokens,
                model=model,
            )
            data = parse_json(raw.text, schema) if schema is not None else None
    except JobError as exc:
        log.error, log.error_kind = str(exc)[:2000], exc.kind
        if isinstance(exc, RateLimitedError) and exc.retry_after and name != "offline":
            if not isinstance(exc, ratelimit.RateLimitWaitTooLong):
                _push_back(name, key, exc.retry_after, tokens=bool(tpm))
        raise
    except Exception as exc:
        log.error, log.error_kind = str(exc)[:2000], ErrorKind.INTERNAL
        raise
    else:
        log.success = True
    finally:
        if raw is not None:
            log.model = raw.model
            log.prompt_tokens, log.completion_tokens = raw.prompt_tokens, raw.completion_tokens
        log.duration_ms = int((time.monotonic() - started) * 1000)
        log.wait_ms = int(waited * 1000)
        log.save()
        if reserved:
            used = (raw.prompt_tokens + raw.completion_tokens) if raw is not None else 0
            ratelimit.settle_tokens(name, reserved=reserved, actual=used, per_minute=tpm)
    return Completion(
        text=raw.text,
        data=data,
        provider=name,
        model=raw.model,
        prompt_tokens=raw.prompt_tokens,
        completion_tokens=raw.completion_tokens,
        duration_ms=log.duration_ms,
        offline=name == "offline",
    )


def _push_back(provider: str, key: str, seconds: float, *, tokens: bool) -> None:
    """A provider's 429 stops every caller of that provider, not only this key's."""
    ratelimit.push_back(key, seconds)
    if key != default_limiter_key(provider):
        ratelimit.push_back(default_limiter_key(provider), seconds)
    if tokens:
        ratelimit.push_back_tokens(provider, seconds)


# --- async ------------------------------------------------------------------------

TextSink = Callable[[str], Any]  # called with each piece of text; may return an awaitable


def _atraced(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`_traced` for `acomplete`: the same span around the awaited call."""

    @functools.wraps(fn)
    async def call(*args: Any, **kwargs: Any) -> Completion:
        if not tracing.enabled():
            return await fn(*args, **kwargs)  # type: ignore[no-any-return]
        name = resolve_provider(kwargs.get("provider"))
        model = kwargs.get("model") or _default_model(name)
        purpose = str(kwargs.get("purpose") or "")
        with tracing.llm_call(provider=name, model=str(model), purpose=purpose) as span:
            result = await fn(*args, **kwargs)
            tracing.llm_result(span, model=result.model, input_tokens=result.prompt_tokens,
                               output_tokens=result.completion_tokens)
        return result  # type: ignore[no-any-return]

    return call


@_atraced
async def acomplete(
    *,
    prompt: str,
    system: str = "",
    schema: Mapping[str, Any] | None = None,
    purpose: str = "",
    job: Job | None = None,
    limiter_key: str | None = None,
    provider: str | None = None,
    model: str | None = None,
    offline: offline_provider.OfflineBuilder | None = None,
    max_tokens: int = 1024,
    on_text: TextSink | None = None,
) -> Completion:
    """`complete` for async code, through the SDKs' async clients.

    The same limiter, errors, token accounting and generation log; no thread
    and no database connection is held while the provider answers (the
    limiter's reservation and the log are short writes on `jobs.aio`'s pool).
    With `on_text`, the call is streamed and `on_text(piece)` gets each piece
    of text as the provider writes it (the offline provider: its whole answer
    at once); the Completion is the same as without.
    """
    from jobs import aio

    name = resolve_provider(provider)
    key = limiter_key or default_limiter_key(name)
    log = GenerationLog(
        job=job, purpose=purpose[:64], provider=name, offline=name == "offline",
        limiter_key=key if name != "offline" else "",
    )
    tpm = _tokens_per_minute(name) if name != "offline" else 0.0
    reserved = 0
    waited = 0.0
    raw: offline_provider.RawAnswer | None = None
    started = time.monotonic()
    try:
        if name == "offline":
            raw = offline_provider.offline_answer(
                prompt=prompt, system=system, schema=schema, builder=offline
            )
            data = _offline_data(raw, schema) if schema is not None else raw.data
            if on_text is not None and raw.text:
                await _emit(on_text, raw.text)
        else:
            providers.aprepare(name)
            if tpm:
                estimate = estimate_tokens(prompt=prompt, system=system, max_tokens=max_tokens)
                waited += await ratelimit.aacquire_tokens(name, tokens=estimate, per_minute=tpm)
                reserved = estimate
            provider_key = default_limiter_key(name)
            if key != provider_key:
                waited += await ratelimit.aacquire(key, rate=_rate_for(key))
            waited += await ratelimit.aacquire(provider_key, rate=_rate_for(provider_key))
            started = time.monotonic()
            request: dict[str, Any] = {
                "prompt": prompt, "system": _json_system(system, schema),
                "want_json": schema is not None, "max_tokens": max_tokens, "model": model,
            }
            if on_text is None:
                call = (providers.openai_aanswer if name == "openai"
                        else providers.anthropic_aanswer)
                raw = await call(**request)
            else:
                stream = (providers.openai_astream if name == "openai"
                          else providers.anthropic_astream)
                async for item in stream(**request):
                    if isinstance(item, offline_provider.RawAnswer):
                        raw = item
                    else:
                        await _emit(on_text, item)
                if raw is None:  # pragma: no cover (the stream always ends with it)
                    raise ParseError("The provider's stream ended without an answer")
            data = parse_json(raw.text, schema) if schema is not None else None
    except JobError as exc:
        log.error, log.error_kind = str(exc)[:2000], exc.kind
        if isinstance(exc, RateLimitedError) and exc.retry_after and name != "offline":
            if not isinstance(exc, ratelimit.RateLimitWaitTooLong):
                await aio.db(_push_back, name, key, exc.retry_after, tokens=bool(tpm))
        raise
    except asyncio.CancelledError:
        log.error, log.error_kind = "Cancelled while waiting for the provider", ErrorKind.INTERNAL
        raise
    except Exception as exc:
        log.error, log.error_kind = str(exc)[:2000], ErrorKind.INTERNAL
        raise
    else:
        log.success = True
    finally:
        if raw is not None:
            log.model = raw.model
            log.prompt_tokens, log.completion_tokens = raw.prompt_tokens, raw.completion_tokens
        log.duration_ms = int((time.monotonic() - started) * 1000)
        log.wait_ms = int(waited * 1000)
        used = (raw.prompt_tokens + raw.completion_tokens) if raw is not None else 0
        await aio.db(_finish_log, log, name, reserved, used, tpm)
    return Completion(
        text=raw.text,
        data=data,
        provider=name,
        model=raw.model,
        prompt_tokens=raw.prompt_tokens,
        completion_tokens=raw.completion_tokens,
        duration_ms=log.duration_ms,
        offline=name == "offline",
    )


async def _emit(sink: TextSink, piece: str) -> None:
    result = sink(piece)
    if inspect.isawaitable(result):
        await result


def _finish_log(log: GenerationLog, name: str, reserved: int, used: int, tpm: float) -> None:
    """The call's log row and its token settlement: one trip to the database pool."""
    log.save()
    if reserved:
        ratelimit.settle_tokens(name, reserved=reserved, actual=used, per_minute=tpm)


async def astream(**kwargs: Any) -> AsyncIterator[str]:
    """The text of a streamed `acomplete` call, piece by piece as the provider writes it.

        async for piece in llm.astream(prompt="...", purpose="report"):
            ...

    Takes `acomplete`'s arguments (not `on_text`); raises its errors. The call
    is logged and accounted once the stream ends (or is closed early).
    """
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    call = asyncio.ensure_future(acomplete(**kwargs, on_text=queue.put_nowait))
    call.add_done_callback(lambda _: queue.put_nowait(None))
    try:
        while True:
            piece = await queue.get()
            if piece is None:
                break
            yield piece
        call.result()  # the call's error, if it failed
    finally:
        if not call.done():
            call.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await call
