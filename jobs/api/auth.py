"""Token authentication that does not look the token up on every request.

DRF's TokenAuthentication reads the token and its user (one query) for every
request, a large part of a short API request's time. Here a process remembers a
valid token's user for `API_TOKEN_CACHE_SECONDS` (settings, config/components/web.py):
a miss is one query (the token with its user, select_related), a hit none.

The price, documented with the setting: a deleted token, or a user made inactive,
keeps working for at most that long in a process that has seen it. 0 turns the
cache off (DRF's behaviour: a query per request). Invalid tokens are never
remembered, so a new token works at once.
"""

from __future__ import annotations

import copy
import threading
import time
from typing import Any

from django.conf import settings
from django.db.models.signals import post_delete
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

# At most this many tokens per process; when full, the cache starts over.
MAX_ENTRIES = 10_000

_cache: dict[str, tuple[float, Any, Any]] = {}
_lock = threading.Lock()


def clear() -> None:
    """Forget every remembered token (tests; a signal could call it too)."""
    with _lock:
        _cache.clear()


def forget(key: str) -> None:
    with _lock:
        _cache.pop(key, None)


class CachedTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`, as DRF's TokenAuthentication (same errors,
    same `WWW-Authenticate`), with valid tokens remembered for a few seconds."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        seconds = float(getattr(settings, "API_TOKEN_CACHE_SECONDS", 0.0))
        now = time.monotonic()
        if seconds > 0:
            hit = _cache.get(key)
            if hit is not None and hit[0] > now:
                # A copy per request: a view may set attributes on request.user.
                return copy.copy(hit[1]), hit[2]
        try:
            token = Token.objects.select_related("user").get(key=key)
        except Token.DoesNotExist:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        if seconds > 0:
            with _lock:
                if len(_cache) >= MAX_ENTRIES:
                    _cache.clear()
                _cache[key] = (now + seconds, token.user, token)
            return copy.copy(token.user), token
        return token.user, token


def _forget_token(sender: Any, instance: Any, **kwargs: Any) -> None:
    # A token deleted in this process stops working here at once (other processes
    # within API_TOKEN_CACHE_SECONDS).
    forget(instance.key)


post_delete.connect(_forget_token, sender=Token, dispatch_uid="jobs.api.auth.forget")
