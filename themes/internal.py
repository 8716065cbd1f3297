"""The internal shared secret (X-Internal-Secret = INTERNAL_SHARED_SECRET), for any app's
internal endpoints."""

from __future__ import annotations

from rest_framework.request import Request

from jobs.api.secrets import SecretRequired, secret_matches

INTERNAL_HEADER = "X-Internal-Secret"


def require_internal_secret(request: Request) -> None:
    """Compared in constant time (hmac.compare_digest, in `secret_matches`).

    An unset secret disables the endpoint (503): it never opens it. A
    missing or wrong header is 401.
    """
    if not secret_matches(request, header=INTERNAL_HEADER, setting="INTERNAL_SHARED_SECRET"):
        raise SecretRequired(f"Missing or wrong {INTERNAL_HEADER} header.")
