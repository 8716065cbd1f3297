"""Postgres advisory locks, named.

A lock name such as `warmup:forecasts:lock` is hashed to the signed 64-bit key
Postgres wants. Transaction-level locks (`xact_lock`) end with the transaction;
session-level ones (`session_lock`) end when released or when the connection
closes, so a crashed holder frees its lock at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


def lock_key(name: str) -> int:
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def xact_lock(name: str) -> None:
    """Wait for the named lock until the current transaction ends."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [lock_key(name)])


def try_session_lock(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [lock_key(name)])
        return bool(cursor.fetchone()[0])


def release_session_lock(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s)", [lock_key(name)])
        return bool(cursor.fetchone()[0])


@contextmanager
def session_lock(name: str) -> Iterator[bool]:
    """Try the named lock for the block; yields whether it was taken."""
    taken = try_session_lock(name)
    try:
        yield taken
    finally:
        if taken:
            release_session_lock(name)


# --- leases: locks with a maximum hold time --------------------------------------


def lease_acquire(name: str, *, holder: str, seconds: float) -> bool:
    """Take the named lease for at most `seconds`; False if someone holds it.

    One statement: the row is taken when absent, expired, or held by a
    database session that no longer exists (its holder crashed).
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO jobs_locklease AS l (name, holder, holder_pid, acquired_at, expires_at) "
            "VALUES (%s, %s, pg_backend_pid(), now(), now() + make_interval(secs => %s)) "
            "ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, "
            "  holder_pid = EXCLUDED.holder_pid, acquired_at = EXCLUDED.acquired_at, "
            "  expires_at = EXCLUDED.expires_at "
            "WHERE l.expires_at < now() OR l.holder = EXCLUDED.holder "
            "   OR NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = l.holder_pid) "
            "RETURNING name",
            [name, holder, float(seconds)],
        )
        return cursor.fetchone() is not None


def lease_held(name: str, *, holder: str) -> bool:
    """Whether `holder` still holds the lease (False once it expired or was taken)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM jobs_locklease WHERE name = %s AND holder = %s AND expires_at > now()",
            [name, holder],
        )
        return cursor.fetchone() is not None


def lease_release(name: str, *, holder: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM jobs_locklease WHERE name = %s AND holder = %s", [name, holder])
        return cursor.rowcount == 1
