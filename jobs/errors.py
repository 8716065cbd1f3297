"""Exceptions a job handler raises to say how it failed.

The platform maps every exception to an error kind (see `registry.ERROR_POLICIES`),
and the kind decides whether the job is retried. Handlers raise these for
failures they understand; anything else is classified by `registry.classify`.
"""

from __future__ import annotations

from jobs.models import ErrorKind


class JobError(Exception):
    """Base of the errors a handler raises on purpose."""

    kind: str = ErrorKind.PERMANENT

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class RetryableJobError(JobError):
    """A passing fault: a timeout, a dropped connection, a 5xx."""

    kind = ErrorKind.RETRYABLE


class RateLimitedError(RetryableJobError):
    """The provider said 429; `retry_after` (seconds) is honoured."""

    kind = ErrorKind.RATE_LIMITED


class ParseError(JobError):
    """The LLM did not return the JSON asked for: retried once."""

    kind = ErrorKind.PARSE


class PermanentJobError(JobError):
    """A failure that another attempt cannot fix."""

    kind = ErrorKind.PERMANENT


class InvalidInputError(PermanentJobError):
    kind = ErrorKind.INVALID_INPUT


class AuthError(PermanentJobError):
    """A missing API key, or the provider answered 401/403."""

    kind = ErrorKind.AUTH


class JobAbort(Exception):
    """Raised inside a handler when the job must stop (cancelled, expired, shutdown)."""


class AdmissionRefused(Exception):
    """Too many active jobs: the request is refused (HTTP 429), never dropped later."""

    def __init__(self, message: str, *, scope: str, retry_after: int) -> None:
        super().__init__(message)
        self.message = message
        self.scope = scope
        self.retry_after = retry_after


class JobAlreadyQueued(Exception):
    """A job with the same queueing lock is already waiting (HTTP 409)."""


class InvalidTransition(Exception):
    """The job is not in a status this action applies to (HTTP 409)."""


class UnknownJobType(Exception):
    pass


# --- Refusals at creation --------------------------------------------------------
# What `job_create` (through `JobType.prepare`) and the organization selector
# raise when a job may not be created: nothing is written. The API answers them
# 400 with `errors` as the JSON body (jobs/api/errors.py); commands print them.


class JobRefused(Exception):
    """A job was refused at creation: `errors` maps fields to messages."""

    def __init__(self, errors: dict[str, object]) -> None:
        super().__init__(errors)
        self.errors = errors

    def __str__(self) -> str:
        return "; ".join(f"{field}: {_text(messages)}" for field, messages in self.errors.items())


def _text(messages: object) -> str:
    if isinstance(messages, dict):
        return ", ".join(f"{k}: {_text(v)}" for k, v in messages.items())
    if isinstance(messages, list | tuple):
        return " ".join(_text(m) for m in messages)
    return str(messages)


class InvalidJobInput(JobRefused):
    """The input does not pass the type's input serializer: `errors` are its field errors."""

    def nested(self, field: str) -> InvalidJobInput:
        """The same errors under `field` (the create API's `{"input": {...}}`)."""
        return InvalidJobInput({field: self.errors})


class InvalidJobScope(JobRefused):
    """The job's scope does not fit its type (a decision type without its decision)."""


class NoOrganization(JobRefused):
    """The user belongs to no (such) active organization to create in."""
