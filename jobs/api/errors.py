"""Every API error is a JSON body: platform exceptions map to their status codes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg.errors
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DataError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from jobs.errors import AdmissionRefused, InvalidTransition, JobAlreadyQueued, JobRefused


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"detail": f"Request body too large: at most {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} "
                       "bytes.", "code": "too_large"},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, AdmissionRefused):
        return Response(
            {"detail": exc.message, "code": "too_many_active_jobs", "scope": exc.scope},
            status=status.HTTP_429_TOO_MANY_REQUESTS,
            headers={"Retry-After": str(exc.retry_after)},
        )
    if isinstance(exc, JobRefused):
        # The platform's refusals at creation (bad input or scope, no organization):
        # field errors, as DRF answers a ValidationError.
        return Response(exc.errors, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, JobAlreadyQueued):
        return Response(
            {"detail": str(exc), "code": "already_queued"}, status=status.HTTP_409_CONFLICT
        )
    if isinstance(exc, InvalidTransition):
        return Response(
            {"detail": str(exc), "code": "invalid_transition"}, status=status.HTTP_409_CONFLICT
        )
    if isinstance(exc, DataError):
        # A value the database cannot hold (a NUL byte in text, a number out of
        # range) in a query parameter or field no validator caught: the client's
        # input, so 400 with what the database said, never a 500.
        set_rollback()
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid value"
        return Response({"detail": f"Invalid input: {reason}.", "code": "invalid_value"},
                        status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, OperationalError) and isinstance(exc.__cause__,
                                                         psycopg.errors.QueryCanceled):
        # The web sessions' statement_timeout (DB_WEB_STATEMENT_TIMEOUT_SECONDS)
        # ended a statement: the server is busy, not the client wrong.
        set_rollback()
        return Response({"detail": "The database took too long to answer; try again.",
                         "code": "statement_timeout"},
                        status=status.HTTP_503_SERVICE_UNAVAILABLE,
                        headers={"Retry-After": "1"})
    return drf_exception_handler(exc, context)


# --- Django's own error pages, as JSON under /api/ ----------------------------------
# A URL that does not resolve (a malformed UUID or slug in the path), a
# SuspiciousOperation (400) or an exception outside DRF (500) is answered by
# Django's handlers, not DRF's: HTML by default. API clients get JSON instead;
# pages keep Django's HTML. Wired as handler400/403/404/500 in config/urls.py.


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _json_or(default: Callable[..., HttpResponse], status_code: int, detail: str, code: str
             ) -> Callable[..., HttpResponse]:
    def view(request: HttpRequest, exception: BaseException | None = None) -> HttpResponse:
        if _wants_json(request):
            return JsonResponse({"detail": detail, "code": code}, status=status_code)
        return default(request, exception)

    return view


bad_request = _json_or(defaults.bad_request, 400, "Bad request.", "bad_request")
permission_denied = _json_or(defaults.permission_denied, 403, "Permission denied.",
                             "permission_denied")
page_not_found = _json_or(defaults.page_not_found, 404, "Not found.", "not_found")


def server_error(request: HttpRequest) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"detail": "Internal server error.", "code": "server_error"},
                            status=500)
    return defaults.server_error(request)
