"""Job types and error policies.

A domain app registers each of its job types here (from its `jobtypes.py`,
imported by its AppConfig.ready()): the handler, how its input and scope are
checked at creation, how it is retried, how often a browser should poll it, how
long it may run, which locks it takes and which page it is followed on.
The platform knows no domain app; domain apps know this module.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder

from jobs.errors import InvalidJobInput, JobError, UnknownJobType
from jobs.models import ErrorKind

if TYPE_CHECKING:
    from rest_framework import serializers


# A handler is a plain function, run on the worker's thread pool, or an
# `async def`, run on the worker's event loop with an AsyncJobContext.
# A sync handler takes a JobContext, an async one (`async def`) an AsyncJobContext.
Handler = Callable[..., Any]
KeyFunc = Callable[[Mapping[str, Any], str], str | None]  # (input, scope) -> key


@dataclass(frozen=True)
class ErrorPolicy:
    retry: bool
    # At most this many retries for this kind, whatever the job type allows.
    max_retries: int | None = None
    honour_retry_after: bool = False


# The error table (docs/ai-and-integrations.md, "Errors"), as data.
ERROR_POLICIES: dict[str, ErrorPolicy] = {
    ErrorKind.RETRYABLE: ErrorPolicy(retry=True),
    ErrorKind.RATE_LIMITED: ErrorPolicy(retry=True, honour_retry_after=True),
    ErrorKind.PARSE: ErrorPolicy(retry=True, max_retries=1),
    ErrorKind.INVALID_INPUT: ErrorPolicy(retry=False),
    ErrorKind.AUTH: ErrorPolicy(retry=False),
    ErrorKind.PERMANENT: ErrorPolicy(retry=False),
    ErrorKind.EXPIRED: ErrorPolicy(retry=False),
    # An exception nobody classified: retried, as Inngest and Procrastinate do.
    ErrorKind.INTERNAL: ErrorPolicy(retry=True),
}

_NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    TimeoutError,
    ConnectionError,
    socket.timeout,
)


def classify(exc: BaseException) -> tuple[str, float | None]:
    """The error kind of an exception, and its Retry-After in seconds if any."""
    if isinstance(exc, JobError):
        return exc.kind, exc.retry_after
    if isinstance(exc, _NETWORK_ERRORS):
        return ErrorKind.RETRYABLE, None
    try:
        import requests

        if isinstance(exc, requests.Timeout | requests.ConnectionError):
            return ErrorKind.RETRYABLE, None
    except ImportError:  # pragma: no cover - requests is a dependency
        pass
    return ErrorKind.INTERNAL, None


@dataclass(frozen=True)
class JobType:
    name: str
    handler: Handler
    title: str = ""
    description: str = ""
    # Validates `input` at creation; its validated_data is what the handler sees.
    input_serializer: type[serializers.Serializer] | None = None
    # Retries after the first attempt (None: the JOBS_DEFAULT_MAX_RETRIES setting).
    max_retries: int | None = None
    poll_interval_ms: int | None = None
    # A running attempt past this is stopped and the job fails as expired.
    max_duration_seconds: int | None = None
    # A job waiting longer than this for a worker fails as expired (None: the
    # JOBS_PENDING_EXPIRY_SECONDS setting). Scheduled fan-outs that may queue
    # behind busy workers set a longer one.
    pending_expiry_seconds: int | None = None
    typical_duration: str = ""
    queue: str = "default"
    # Users may start it with POST /api/jobs (internal and scheduled ones: no).
    public: bool = True
    # Procrastinate locks: one running per `lock` key, one waiting per
    # `queueing_lock` key. Both are computed from the input and the scope.
    lock: KeyFunc | None = None
    queueing_lock: KeyFunc | None = None
    # Queue and priority of a re-run (job_retry) from the input, for a type whose
    # jobs each carry their own (django_task): {"queue": ..., "priority": ...}.
    retry_defer_options: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    # An async twin of `handler` that a job picks with `"runtime": "async"` in
    # its input (the built-in diagnostic type has both, for tests and benchmarks).
    async_handler: Handler | None = None

    def handler_for(self, input: Mapping[str, Any]) -> Handler:
        """The handler a job with this input runs."""
        if self.async_handler is not None and input.get("runtime") == "async":
            return self.async_handler
        return self.handler

    # The page a user follows a job of this type on ("My jobs" links to it):
    # (job) -> URL, or None for no link. Set by the app's
    # registration (jobtypes.py), so the platform names no domain URL.
    link: Callable[[Any], str | None] | None = None
    link_label: str = "open"

    def prepare(
        self, *, input: Mapping[str, Any] | None, organization: Any, decision_id: Any
    ) -> dict[str, Any]:
        """The one way in: the validated input of a job about to be created, after
        its scope is checked. `job_create` calls it for every entrance (API, pages,
        commands, services, schedules, the django.tasks backend). Raises
        InvalidJobInput (the serializer's field errors) or InvalidJobScope."""
        validated = self.validate_input(input)
        self.validate_scope(organization=organization, decision_id=decision_id, input=validated)
        return validated

    def validate_input(self, input: Mapping[str, Any] | None) -> dict[str, Any]:
        """The input as the handler will see it (JSON values), or InvalidJobInput."""
        if input is not None and not isinstance(input, Mapping):
            raise InvalidJobInput({"non_field_errors": ["Must be a JSON object."]})
        data = dict(input or {})
        if self.input_serializer is None:
            return data
        serializer = self.input_serializer(data=data)
        if not serializer.is_valid():
            raise InvalidJobInput(_plain(serializer.errors))
        return dict(json.loads(json.dumps(serializer.validated_data, cls=DjangoJSONEncoder)))

    def validate_scope(
        self, *, organization: Any, decision_id: Any, input: Mapping[str, Any]
    ) -> None:
        """Check the job's scope at creation (raise InvalidJobScope): a type that
        works on a decision says so here, so a wrong id is a 400 and not a failed job.
        `input` is the validated input (an id in it may have to belong to the scope)."""

    def link_for(self, job: Any) -> str | None:
        return self.link(job) if self.link is not None else None

    @property
    def retries(self) -> int:
        if self.max_retries is not None:
            return self.max_retries
        return int(settings.JOBS["DEFAULT_MAX_RETRIES"])

    @property
    def poll_interval(self) -> int:
        if self.poll_interval_ms is not None:
            return self.poll_interval_ms
        return int(settings.JOBS["DEFAULT_POLL_INTERVAL_MS"])

    @property
    def pending_expiry(self) -> int:
        if self.pending_expiry_seconds is not None:
            return self.pending_expiry_seconds
        return int(settings.JOBS["PENDING_EXPIRY_SECONDS"])

    @property
    def max_duration(self) -> int:
        if self.max_duration_seconds is not None:
            return self.max_duration_seconds
        return int(settings.JOBS["DEFAULT_MAX_DURATION_SECONDS"])


def _plain(errors: Any) -> Any:
    """A serializer's errors as plain JSON values (ErrorDetail is a str)."""
    if isinstance(errors, Mapping):
        return {str(k): _plain(v) for k, v in errors.items()}
    if isinstance(errors, list | tuple):
        return [_plain(v) for v in errors]
    return str(errors)


_registry: dict[str, JobType] = {}


JT = TypeVar("JT", bound=JobType)


def register(job_type: JT) -> JT:
    existing = _registry.get(job_type.name)
    if existing is not None and existing.handler is not job_type.handler:
        raise ValueError(f"job type {job_type.name!r} is already registered")
    _registry[job_type.name] = job_type
    return job_type


def job_type(name: str, **options: Any) -> Callable[[Handler], Handler]:
    """Decorator form: `@job_type("diagnostic", input_serializer=...)`."""

    def decorate(handler: Handler) -> Handler:
        register(JobType(name=name, handler=handler, **options))
        return handler

    return decorate


def get(name: str) -> JobType:
    try:
        return _registry[name]
    except KeyError:
        raise UnknownJobType(name) from None


def all_types() -> list[JobType]:
    return sorted(_registry.values(), key=lambda t: t.name)


def public_type_names() -> list[str]:
    return [t.name for t in all_types() if t.public]


def min_pending_expiry() -> int:
    expiries = [t.pending_expiry for t in _registry.values()]
    return min(expiries, default=int(settings.JOBS["PENDING_EXPIRY_SECONDS"]))


def min_max_duration() -> int:
    durations = [t.max_duration for t in _registry.values()]
    return min(durations, default=int(settings.JOBS["DEFAULT_MAX_DURATION_SECONDS"]))
