"""OpenTelemetry: one trace from the API request, through the queue, into the
worker's attempt, its durable steps, its LLM call and its Slack and Jira calls.
Spans are collected by the SDK's in-memory exporter; the worker is a real
Procrastinate worker on its own thread and connections."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from jobs import lifecycle, registry, tracing
from jobs.ai import llm
from jobs.integrations import jira, slack
from jobs.models import Job
from jobs.registry import JobType
from jobs.runtime import JobContext
from tests.conftest import drain, wait_for
from tests.fakes import server as fakes

PROBE = "trace-probe"


def run_probe(ctx: JobContext) -> dict[str, Any]:
    answer = ctx.step("ask-model", lambda: llm.complete(
        prompt="Summarise the week", purpose="trace-probe", job=ctx.job).__dict__)
    ctx.progress(50, "Asked")
    ctx.step("tell-slack", lambda: slack.post_message(channel="#product", text=answer["text"]))
    ctx.step("open-epic", lambda: jira.create_issue(project_key="PLAT", summary="Traced"))
    return {"answer": answer["text"]}


@pytest.fixture
def probe_type() -> Iterator[str]:
    registry.register(JobType(name=PROBE, handler=run_probe, title="Trace probe"))
    yield PROBE
    registry._registry.pop(PROBE, None)


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    tracing.configure(exporter=exporter, batch=False)
    yield exporter
    tracing.shutdown()


def by_name(finished: Any, name: str) -> Any:
    found = [s for s in finished if s.name == name]
    assert len(found) == 1, [s.name for s in finished]
    return found[0]


@pytest.mark.django_db(transaction=True)
def test_one_trace_joins_the_request_the_attempt_its_steps_and_its_calls(
    spans, probe_type, api, clean_queue, fake_openai, fake_slack, fake_jira, settings
):
    settings.JIRA_PROJECT_KEY = "PLAT"
    fake_openai.reply = "A calm week."

    response = api.post("/api/jobs", {"type": PROBE}, format="json")
    assert response.status_code == 201, response.content
    job = Job.objects.get(id=response.json()["id"])
    assert job.trace_context["traceparent"].startswith("00-")

    drain()

    assert Job.objects.get(id=job.id).status == "completed"
    finished = spans.get_finished_spans()
    request = next(s for s in finished if s.kind == SpanKind.SERVER
                   and s.attributes.get("http.method", s.attributes.get("http.request.method"))
                   == "POST")
    trace_id = request.context.trace_id
    attempt = by_name(finished, f"job {PROBE}")
    assert attempt.context.trace_id == trace_id
    assert attempt.parent.span_id == request.context.span_id
    assert attempt.kind == SpanKind.CONSUMER
    assert attempt.attributes["plinth.job.id"] == str(job.id)

    ask = by_name(finished, "step ask-model")
    assert ask.parent.span_id == attempt.context.span_id
    chat = by_name(finished, "chat gpt-4o-mini")
    assert chat.parent.span_id == ask.context.span_id
    assert chat.attributes["gen_ai.request.model"] == "gpt-4o-mini"
    assert chat.attributes["gen_ai.system"] == "openai"
    assert chat.attributes["gen_ai.usage.input_tokens"] == 11
    assert chat.attributes["gen_ai.usage.output_tokens"] == 7

    slack_call = by_name(finished, "slack chat.postMessage")
    assert slack_call.parent.span_id == by_name(finished, "step tell-slack").context.span_id
    jira_call = by_name(finished, "jira create_issue")
    assert jira_call.parent.span_id == by_name(finished, "step open-epic").context.span_id
    assert {slack_call.context.trace_id, jira_call.context.trace_id} == {trace_id}

    # psycopg's instrumentation: the worker's queries belong to the same trace.
    db_spans = [s for s in finished if s.attributes.get("db.system") == "postgresql"
                and s.context.trace_id == trace_id]
    assert any(s.parent.span_id == attempt.context.span_id for s in db_spans if s.parent)


@pytest.mark.django_db
def test_tracing_is_off_by_default_and_a_job_carries_no_context(org):
    assert not tracing.enabled()
    assert tracing.current_carrier() == {}

    job = lifecycle.job_create(job_type="diagnostic", input={}, organization=org)

    assert job.trace_context == {}
    with tracing.job_attempt(job, 1) as span:
        assert span is None


@pytest.mark.parametrize(
    ("environ", "wanted"),
    [
        ({}, False),
        ({"OTEL_SERVICE_NAME": "plinth"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, True),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, False),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, False),
    ],
)
def test_the_standard_environment_turns_tracing_on(environ, wanted):
    assert tracing.env_wants_tracing(environ) is wanted


@pytest.fixture
def otlp_collector() -> Iterator[fakes.FakeServer]:
    fake = fakes.FakeServer()
    fakes.otlp_collector(fake)
    yield fake.start()
    fake.stop()


@pytest.mark.django_db(transaction=True)
def test_a_worker_process_configured_by_otel_variables_continues_the_requests_trace(
    spans, api, otlp_collector, worker_process
):
    response = api.post("/api/jobs", {"type": "diagnostic", "input": {"steps": 2}},
                        format="json")
    assert response.status_code == 201, response.content
    request = next(s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER)

    worker_process("--concurrency", "1", OTEL_EXPORTER_OTLP_ENDPOINT=otlp_collector.url,
                   OTEL_SERVICE_NAME="plinth-worker", OTEL_BSP_SCHEDULE_DELAY="100")

    def exported() -> dict[str, Any]:
        return {s["name"]: s for s in fakes.otlp_spans(otlp_collector)
                if s["trace_id"] == f"{request.context.trace_id:032x}"}

    received = wait_for(lambda: (found := exported()) and "step step-2" in found and found,
                        timeout=60, interval=0.2)
    attempt = received["job diagnostic"]
    assert attempt["parent_span_id"] == f"{request.context.span_id:016x}"
    assert attempt["service"] == "plinth-worker"
    assert attempt["attributes"]["plinth.job.id"] == response.json()["id"]
    assert received["step step-1"]["parent_span_id"] == attempt["span_id"]
