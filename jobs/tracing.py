"""OpenTelemetry traces: from the request that creates a job, through the queue,
into the worker's attempt, its durable steps, its LLM calls and its Slack/Jira calls.

Off unless the standard `OTEL_*` environment names an exporter
(`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, or
`OTEL_TRACES_EXPORTER=otlp|console`; `OTEL_SDK_DISABLED=true` wins). Off, no
tracer provider is installed, nothing is instrumented, and every helper here
returns after one boolean test: a job stores `{}` as its trace context.

On, `configure()` installs the SDK's tracer provider (resource from
`OTEL_SERVICE_NAME` / `OTEL_RESOURCE_ATTRIBUTES`, a batch processor, the
OTLP/HTTP exporter, which reads its own `OTEL_EXPORTER_OTLP_*` settings) and the
Django and psycopg instrumentations. `job_create` stores the W3C trace context
of the current span (the request's) in `Job.trace_context`; the worker opens
the attempt's span as its child, so one trace shows request -> attempt ->
steps -> LLM calls (GenAI semantic conventions) -> Slack/Jira calls.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span, Tracer

    from jobs.models import Job

F = TypeVar("F", bound=Callable[..., Any])

TRACER_NAME = "plinth.jobs"

_enabled = False
_tracer: Tracer | None = None
_provider: TracerProvider | None = None


def enabled() -> bool:
    return _enabled


def env_wants_tracing(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the standard OTEL_* variables ask for traces to be exported."""
    environ = os.environ if environ is None else environ
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none":
        return False
    return bool(
        exporter in ("otlp", "console")
        or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def configure_from_env() -> bool:
    """Turn tracing on when the environment asks for it (called at start-up)."""
    if _enabled or not env_wants_tracing():
        return _enabled
    exporter_name = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    exporter: SpanExporter
    if exporter_name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        exporter = ConsoleSpanExporter()
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    configure(exporter=exporter, batch=True, set_global=True)
    return True


def configure(
    *,
    exporter: SpanExporter,
    batch: bool = True,
    set_global: bool = False,
    instrument: bool = True,
) -> TracerProvider:
    """Turn tracing on with `exporter` (tests pass the SDK's InMemorySpanExporter)."""
    global _enabled, _tracer, _provider
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    # Resource.create() reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES.
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME")
                                or "plinth-jobs"})
    provider = TracerProvider(resource=resource)
    processor = BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter)
    provider.add_span_processor(processor)
    if set_global:
        trace.set_tracer_provider(provider)
    if instrument:
        from opentelemetry.instrumentation.django import DjangoInstrumentor
        from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

        DjangoInstrumentor().instrument(tracer_provider=provider)
        PsycopgInstrumentor().instrument(tracer_provider=provider)
    _provider = provider
    _tracer = provider.get_tracer(TRACER_NAME)
    _enabled = True
    return provider


def shutdown() -> None:
    """Turn tracing off again (tests), flushing what was recorded."""
    global _enabled, _tracer, _provider
    if not _enabled:
        return
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

    for instrumentor in (DjangoInstrumentor(), PsycopgInstrumentor()):
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()
    if _provider is not None:
        _provider.force_flush()
        _provider.shutdown()
    _enabled, _tracer, _provider = False, None, None


# --- Carrying the context through the queue -------------------------------------


def current_carrier() -> dict[str, str]:
    """The current span's W3C trace context (`traceparent`, `tracestate`), or {}."""
    if not _enabled:
        return {}
    from opentelemetry.propagate import inject

    carrier: dict[str, str] = {}
    inject(carrier)
    return carrier


@contextlib.contextmanager
def job_attempt(job: Job, attempt: int) -> Iterator[Span | None]:
    """The span of one attempt of a job, the child of the span that created it."""
    if not _enabled or _tracer is None:
        yield None
        return
    from opentelemetry.propagate import extract
    from opentelemetry.trace import SpanKind

    parent = extract(dict(job.trace_context or {}))
    with _tracer.start_as_current_span(
        f"job {job.type}",
        context=parent,
        kind=SpanKind.CONSUMER,
        attributes={
            "messaging.system": "procrastinate",
            "messaging.operation.type": "process",
            "plinth.job.id": str(job.id),
            "plinth.job.type": job.type,
            "plinth.job.attempt": attempt,
        },
    ) as span:
        yield span


@contextlib.contextmanager
def step(name: str) -> Iterator[Span | None]:
    """The span of one durable step (only when it runs, not when it is replayed)."""
    if not _enabled or _tracer is None:
        yield None
        return
    with _tracer.start_as_current_span(f"step {name}", attributes={"plinth.step": name}) as span:
        yield span


@contextlib.contextmanager
def llm_call(*, provider: str, model: str | None, purpose: str) -> Iterator[Span | None]:
    """A span for one LLM call, named and attributed per the GenAI semantic conventions."""
    if not _enabled or _tracer is None:
        yield None
        return
    from opentelemetry.trace import SpanKind

    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.system": provider,
        "gen_ai.provider.name": provider,
        "plinth.llm.purpose": purpose,
    }
    if model:
        attributes["gen_ai.request.model"] = model
    with _tracer.start_as_current_span(
        f"chat {model or provider}", kind=SpanKind.CLIENT, attributes=attributes
    ) as span:
        yield span


def llm_result(
    span: Span | None, *, model: str, input_tokens: int, output_tokens: int
) -> None:
    """The answer's model and token counts."""
    if span is None:
        return
    span.set_attribute("gen_ai.response.model", model)
    span.set_attribute("gen_ai.usage.input_tokens", input_tokens)
    span.set_attribute("gen_ai.usage.output_tokens", output_tokens)


def traced(name: str, **attributes: Any) -> Callable[[F], F]:
    """Decorator: a CLIENT span around a call to an outside service (Slack, Jira)."""

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not _enabled or _tracer is None:
                return fn(*args, **kwargs)
            from opentelemetry.trace import SpanKind

            with _tracer.start_as_current_span(
                name, kind=SpanKind.CLIENT, attributes=attributes
            ):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
