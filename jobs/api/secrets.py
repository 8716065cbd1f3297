"""Shared-secret headers for internal job endpoints (X-Internal-Secret, X-Job-Secret, ...),
as DRF permission classes: every such endpoint uses one of them.

The header must equal the setting, compared in constant time
(`hmac.compare_digest`). An unset secret disables the endpoint (503): it
never opens it. A missing or wrong header is 401.
"""

from __future__ import annotations

import hmac
from typing import Any

from django.conf import settings
from rest_framework.exceptions import APIException
from rest_framework.permissions import BasePermission
from rest_framework.request import Request


class SecretRequired(APIException):
    # A plain 401: DRF would turn AuthenticationFailed into 403 on a view
    # without authenticators.
    status_code = 401
    default_code = "secret_required"


class EndpointDisabled(APIException):
    status_code = 503
    default_code = "endpoint_disabled"


def secret_matches(request: Request, *, header: str, setting: str) -> bool:
    """Raise EndpointDisabled when the setting is empty; whether the header matches it."""
    expected = getattr(settings, setting, "") or ""
    if not expected:
        raise EndpointDisabled(f"This endpoint is disabled: {setting} is not set.")
    given = request.headers.get(header, "")
    return hmac.compare_digest(given.encode(), expected.encode())


class SharedSecret(BasePermission):
    """Subclass with `header` and `setting`; use with `authentication_classes = []`."""

    header = ""
    setting = ""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not secret_matches(request, header=self.header, setting=self.setting):
            raise SecretRequired(f"Missing or wrong {self.header} header.")
        return True


class InternalSecret(SharedSecret):
    """X-Internal-Secret = INTERNAL_SHARED_SECRET: any app's internal endpoints."""

    header, setting = "X-Internal-Secret", "INTERNAL_SHARED_SECRET"


class InternalSecretOrUser(InternalSecret):
    """The internal secret when its header is sent (then only it counts), else a
    signed-in user (DRF answers 401 to an anonymous one)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if self.header in request.headers:
            return super().has_permission(request, view)
        return bool(request.user and request.user.is_authenticated)

    @classmethod
    def sent(cls, request: Request) -> bool:
        """Whether the request came in through the secret (checked by then)."""
        return cls.header in request.headers
