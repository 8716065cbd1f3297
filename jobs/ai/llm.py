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
import contextvars
import functools
import inspect
import json
import math
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ParamSpec

import jsonschema
from django.conf import settings
from django.db import connection
from django.utils import timezone

from jobs import tracing
from jobs.ai import offline as offline_provider
from jobs.ai import providers, ratelimit
from jobs.ai.models import GenerationLog
from jobs.errors import JobError, ParseError, PermanentJobError, RateLimitedError
from jobs.jobsql import COMMIT_WITHOUT_FLUSH
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
    call = _Call(prompt=prompt, system=system, schema=schema, purpose=purpose, job=job,
                 limiter_key=limiter_key, provider=provider, model=model, offline=offline,
                 max_tokens=max_tokens)
    try:
        if call.is_offline:
            data = call.answer_offline()
        else:
            providers.prepare(call.name)
            # Tokens first, then the request slot: the slot is the last wait,
            # so requests reach the provider spaced exactly as reserved.
            if call.tpm:
                call.waited += ratelimit.acquire_tokens(call.name, tokens=call.estimate,
                                                        per_minute=call.tpm)
                call.reserved = call.estimate
            # A caller's own key is a budget within the provider's, never beside
            # it: its slot first, then the provider-wide one, which every call
            # of this provider shares whatever its key.
            if call.key != call.provider_key:
                call.waited += ratelimit.acquire(call.key, rate=_rate_for(call.key))
            call.waited += ratelimit.acquire(call.provider_key,
                                             rate=_rate_for(call.provider_key))
            call.started = time.monotonic()
            answer = (providers.openai_answer if call.name == "openai"
                      else providers.anthropic_answer)
            call.raw = answer(**call.request())
            data = call.parse()
    except BaseException as exc:
        push_back = call.failed(exc)
        if push_back:
            _push_back(call.name, call.key, push_back, tokens=bool(call.tpm))
        raise
    else:
        call.log.success = True
    finally:
        _finish_log(call.log, call.name, call.reserved, call.ended(), call.tpm)
    return call.completion(data)


class _Call:
    """One call's bookkeeping, the same for `complete` and `acomplete`: the provider and
    limiter keys, the generation log, the token reservation, the request, the answer."""

    def __init__(
        self, *, prompt: str, system: str, schema: Mapping[str, Any] | None, purpose: str,
        job: Job | None, limiter_key: str | None, provider: str | None, model: str | None,
        offline: offline_provider.OfflineBuilder | None, max_tokens: int,
    ) -> None:
        self.name = resolve_provider(provider)
        self.is_offline = self.name == "offline"
        self.provider_key = default_limiter_key(self.name)
        self.key = limiter_key or self.provider_key
        self.log = GenerationLog(
            job=job, purpose=purpose[:64], provider=self.name, offline=self.is_offline,
            limiter_key=self.key if not self.is_offline else "",
        )
        self.tpm = _tokens_per_minute(self.name) if not self.is_offline else 0.0
        self.estimate = (estimate_tokens(prompt=prompt, system=system, max_tokens=max_tokens)
                         if self.tpm else 0)
        self.reserved = 0  # tokens taken from the budget, settled when the call ends
        self.waited = 0.0
        self.raw: offline_provider.RawAnswer | None = None
        self.started = time.monotonic()
        self.prompt, self.system, self.schema = prompt, system, schema
        self.model, self.offline, self.max_tokens = model, offline, max_tokens

    def answer_offline(self) -> Any:
        self.raw = offline_provider.offline_answer(
            prompt=self.prompt, system=self.system, schema=self.schema, builder=self.offline
        )
        return _offline_data(self.raw, self.schema) if self.schema is not None else self.raw.data

    def request(self) -> dict[str, Any]:
        """The provider call's arguments (providers.*_answer / *_astream)."""
        return {
            "prompt": self.prompt, "system": _json_system(self.system, self.schema),
            "want_json": self.schema is not None, "max_tokens": self.max_tokens,
            "model": self.model,
        }

    def parse(self) -> Any:
        assert self.raw is not None
        return parse_json(self.raw.text, self.schema) if self.schema is not None else None

    def failed(self, exc: BaseException) -> float:
        """Note `exc` on the log; the seconds a provider's Retry-After pushes the budget
        back (0: none)."""
        if isinstance(exc, JobError):
            self.log.error, self.log.error_kind = str(exc)[:2000], exc.kind
            if (isinstance(exc, RateLimitedError) and exc.retry_after and not self.is_offline
                    and not isinstance(exc, ratelimit.RateLimitWaitTooLong)):
                return float(exc.retry_after)
        elif isinstance(exc, asyncio.CancelledError):
            self.log.error = "Cancelled while waiting for the provider"
            self.log.error_kind = ErrorKind.INTERNAL
        else:
            self.log.error, self.log.error_kind = str(exc)[:2000], ErrorKind.INTERNAL
        return 0.0

    def ended(self) -> int:
        """Complete the log with the answer and the times; the tokens the call used."""
        raw = self.raw
        if raw is not None:
            self.log.model = raw.model
            self.log.prompt_tokens, self.log.completion_tokens = (
                raw.prompt_tokens, raw.completion_tokens)
        self.log.duration_ms = int((time.monotonic() - self.started) * 1000)
        self.log.wait_ms = int(self.waited * 1000)
        return (raw.prompt_tokens + raw.completion_tokens) if raw is not None else 0

    def completion(self, data: Any) -> Completion:
        raw = self.raw
        assert raw is not None
        return Completion(
            text=raw.text,
            data=data,
            provider=self.name,
            model=raw.model,
            prompt_tokens=raw.prompt_tokens,
            completion_tokens=raw.completion_tokens,
            duration_ms=self.log.duration_ms,
            offline=self.is_offline,
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

    call = _Call(prompt=prompt, system=system, schema=schema, purpose=purpose, job=job,
                 limiter_key=limiter_key, provider=provider, model=model, offline=offline,
                 max_tokens=max_tokens)
    try:
        if call.is_offline:
            data = call.answer_offline()
            if on_text is not None and call.raw is not None and call.raw.text:
                await _emit(on_text, call.raw.text)
        else:
            providers.aprepare(call.name)
            if call.tpm:
                call.waited += await ratelimit.aacquire_tokens(
                    call.name, tokens=call.estimate, per_minute=call.tpm)
                call.reserved = call.estimate
            if call.key != call.provider_key:
                call.waited += await ratelimit.aacquire(call.key, rate=_rate_for(call.key))
            call.waited += await ratelimit.aacquire(call.provider_key,
                                                    rate=_rate_for(call.provider_key))
            call.started = time.monotonic()
            if on_text is None:
                answer = (providers.openai_aanswer if call.name == "openai"
                          else providers.anthropic_aanswer)
                call.raw = await answer(**call.request())
            else:
                stream = (providers.openai_astream if call.name == "openai"
                          else providers.anthropic_astream)
                async for item in stream(**call.request()):
                    if isinstance(item, offline_provider.RawAnswer):
                        call.raw = item
                    else:
                        await _emit(on_text, item)
                if call.raw is None:  # pragma: no cover (the stream always ends with it)
                    raise ParseError("The provider's stream ended without an answer")
            data = call.parse()
    except BaseException as exc:
        push_back = call.failed(exc)
        if push_back:
            await aio.db(_push_back, call.name, call.key, push_back, tokens=bool(call.tpm))
        raise
    else:
        call.log.success = True
    finally:
        used = call.ended()
        sink = _log_sink.get()
        if sink is not None and not sink.closed and not call.reserved:
            call.log.created_at = timezone.now()  # when the call ended, not when written
            sink.logs.append(call.log)  # written with the job's next write
        else:
            await aio.db(_finish_log, call.log, call.name, call.reserved, used, call.tpm)
    return call.completion(data)


async def _emit(sink: TextSink, piece: str) -> None:
    result = sink(piece)
    if inspect.isawaitable(result):
        await result


def _finish_log(log: GenerationLog, name: str, reserved: int, used: int, tpm: float) -> None:
    """The call's log row and its token settlement: one trip to the database pool."""
    log.save()
    if reserved:
        ratelimit.settle_tokens(name, reserved=reserved, actual=used, per_minute=tpm)


class LogSink:
    """The generation logs of an async job's calls, written with the job's next write.

    An async handler's call would otherwise cost a trip to the worker's database
    pool of its own after the answer, just before the handler's next write (a
    step's result, progress, its completion) costs another. Under
    `collect_logs(sink)`, `acomplete` leaves its log here instead (unless it
    must settle a tokens-per-minute reservation, which other callers wait on),
    and the job's runtime writes the sink's logs, in one INSERT, at the start
    of that next trip (jobs/aruntime.py), and whatever is left when the attempt
    ends. A worker killed between the answer and that write loses the log row.
    """

    def __init__(self) -> None:
        self.logs: list[GenerationLog] = []
        self.closed = False

    def take(self) -> list[GenerationLog]:
        logs, self.logs = self.logs, []
        return logs

    def put_back(self, logs: list[GenerationLog]) -> None:
        self.logs[:0] = logs


_log_sink: contextvars.ContextVar[LogSink | None] = contextvars.ContextVar(
    "llm_log_sink", default=None)


@contextlib.contextmanager
def collect_logs(sink: LogSink) -> Iterator[LogSink]:
    """Calls made in this context (and tasks it creates) leave their logs in `sink`."""
    token = _log_sink.set(sink)
    try:
        yield sink
    finally:
        _log_sink.reset(token)


def write_logs(logs: list[GenerationLog]) -> None:
    """Deferred generation logs in one statement (sync: on a database pool thread).

    One INSERT in autocommit (`bulk_create` would add a BEGIN and a COMMIT round
    trip), committed without waiting for its WAL flush: the job's write that
    follows in the same trip (its completion or failure: durable commits)
    flushes the WAL past it, and otherwise the WAL writer does within a moment.
    """
    if not logs:
        return
    fields = _LOG_FIELDS
    now = timezone.now()
    params: list[Any] = []
    for log in logs:
        if log.created_at is None:
            log.created_at = now
        params += [f.get_db_prep_save(getattr(log, f.attname), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(_insert_logs_sql(len(logs)), params)


_LOG_FIELDS = [f for f in GenerationLog._meta.concrete_fields if not f.primary_key]


@functools.lru_cache(maxsize=16)
def _insert_logs_sql(rows: int) -> str:
    """The INSERT of `rows` generation logs (built once per row count)."""
    columns = ", ".join(connection.ops.quote_name(f.column) for f in _LOG_FIELDS)
    row = "(" + ", ".join(["%s"] * len(_LOG_FIELDS)) + ")"
    return (f"WITH ins AS (INSERT INTO {GenerationLog._meta.db_table} ({columns}) "
            f"VALUES {', '.join([row] * rows)}) SELECT {COMMIT_WITHOUT_FLUSH}")


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
