"""Rate limits stored in Postgres, shared by every worker on every machine.

Each budget is one `ai_ratelimitbucket` row holding a "theoretical arrival
time" (GCRA, the generic cell rate algorithm): the instant the budget is used
up to. Reserving moves it forward by the cost of one call with a single
`INSERT ... ON CONFLICT DO UPDATE ... RETURNING` (one round trip; the row lock
is held only for that statement), and the caller then sleeps until its own
slot: no polling loop, no transaction or row lock held while waiting.

- Requests: `acquire(key, rate=1, per=1.0)` hands out slots `per / rate`
  seconds apart, first come first served, so "1 request per second" means one
  per second across the cluster.
- Tokens per minute: `reserve_tokens(key, tokens=, per_minute=)` reserves an
  estimate before a call (a minute's worth may be spent at once, then calls
  wait for the budget to refill); `settle_tokens(...)` corrects the budget by
  the real count afterwards.
- `push_back(key, seconds)` / `push_back_tokens(key, seconds)`: no slot
  before `seconds` from now; a provider's 429 Retry-After stops every worker,
  not only the one that was told.

A wait longer than `max_wait` (default `LLM_RATE_LIMIT_MAX_WAIT_SECONDS`)
reserves nothing and raises `RateLimitWaitTooLong`, a `RateLimitedError`
carrying the wait as `retry_after`: the job is rescheduled instead of holding
a worker asleep for minutes.

`aacquire` / `aacquire_tokens` are the async forms: the reservation runs on
the worker's small database pool (`jobs.aio`) and the wait is an
`asyncio.sleep`, holding neither a thread nor a connection.

Call these outside `transaction.atomic()` (autocommit): inside one, the
bucket row stays locked until the transaction ends and every other worker
queues behind it.
"""

from __future__ import annotations

import asyncio
import logging
import time

from django.conf import settings
from django.db import connection

from jobs.errors import RateLimitedError
from jobs.jobsql import COMMIT_WITHOUT_FLUSH

logger = logging.getLogger(__name__)

TOKEN_BURST_SECONDS = 60.0  # a tokens-per-minute budget may spend one minute's worth at once
TOKEN_KEY_PREFIX = "tokens:"


class RateLimitWaitTooLong(RateLimitedError):
    """The next free slot is further away than the caller may wait."""


def _max_wait(max_wait: float | None) -> float:
    if max_wait is not None:
        return float(max_wait)
    return float(getattr(settings, "LLM_RATE_LIMIT_MAX_WAIT_SECONDS", 120.0))


# One statement reserves `cost` seconds of the budget when the caller's slot is
# at most `max_wait` away; it returns the wait until that slot, or no row.
# Its commit does not wait for the WAL flush (`synchronous_commit` off for this
# one transaction): every call of a provider updates this one row, and a
# reservation lost in a database crash only hands its slot out again.
_RESERVE = (
    "WITH r AS (INSERT INTO ai_ratelimitbucket AS b (key, next_slot_at, updated_at) "
    "VALUES (%(key)s, clock_timestamp() + make_interval(secs => %(cost)s), clock_timestamp()) "
    "ON CONFLICT (key) DO UPDATE SET "
    "  next_slot_at = GREATEST(b.next_slot_at, clock_timestamp()) "
    "                 + make_interval(secs => %(cost)s), "
    "  updated_at = clock_timestamp() "
    "WHERE GREATEST(b.next_slot_at, clock_timestamp()) "
    "      + make_interval(secs => %(cost)s - %(burst)s) "
    "      <= clock_timestamp() + make_interval(secs => %(max_wait)s) "
    "RETURNING b.next_slot_at) "
    "SELECT EXTRACT(EPOCH FROM (r.next_slot_at - make_interval(secs => %(burst)s) "
    "                           - clock_timestamp()))::float8, "
    f"{COMMIT_WITHOUT_FLUSH} FROM r"
)


def _reserve(key: str, *, cost: float, burst: float, max_wait: float) -> float:
    params: dict[str, str | float] = {
        "key": key, "cost": cost, "burst": burst, "max_wait": max_wait}
    with connection.cursor() as cursor:
        cursor.execute(_RESERVE, params)
        row = cursor.fetchone()
        if row is not None:
            return max(0.0, float(row[0]))
        cursor.execute(
            "SELECT EXTRACT(EPOCH FROM (next_slot_at + make_interval(secs => %s - %s) "
            "                           - clock_timestamp()))::float8 "
            "FROM ai_ratelimitbucket WHERE key = %s",
            [cost, burst, key],
        )
        found = cursor.fetchone()
    wait = float(found[0]) if found else max_wait
    raise RateLimitWaitTooLong(
        f"Rate limit {key!r}: the next free slot is {wait:.0f} s away; retrying later",
        retry_after=max(wait, 1.0),
    )


def reserve(
    key: str, *, rate: float = 1.0, per: float = 1.0, max_wait: float | None = None
) -> float:
    """Reserve the next request slot for `key`; returns the seconds until it (>= 0)."""
    if rate <= 0 or per <= 0:
        raise ValueError("rate and per must be positive")
    interval = per / rate
    return _reserve(key, cost=interval, burst=interval, max_wait=_max_wait(max_wait))


def acquire(
    key: str, *, rate: float = 1.0, per: float = 1.0, max_wait: float | None = None
) -> float:
    """Block until this caller's request slot for `key`; returns the seconds waited."""
    wait = reserve(key, rate=rate, per=per, max_wait=max_wait)
    if wait > 0:
        time.sleep(wait)
    return wait


def reserve_tokens(
    key: str, *, tokens: int, per_minute: float, max_wait: float | None = None
) -> float:
    """Reserve `tokens` of `key`'s tokens-per-minute budget; returns the seconds to wait."""
    if per_minute <= 0:
        raise ValueError("per_minute must be positive")
    cost = max(int(tokens), 0) * 60.0 / per_minute
    return _reserve(
        TOKEN_KEY_PREFIX + key, cost=cost, burst=TOKEN_BURST_SECONDS, max_wait=_max_wait(max_wait)
    )


def acquire_tokens(
    key: str, *, tokens: int, per_minute: float, max_wait: float | None = None
) -> float:
    """Block until `tokens` fit in `key`'s tokens-per-minute budget; returns the seconds waited."""
    wait = reserve_tokens(key, tokens=tokens, per_minute=per_minute, max_wait=max_wait)
    if wait > 0:
        time.sleep(wait)
    return wait


def settle_tokens(key: str, *, reserved: int, actual: int, per_minute: float) -> None:
    """Correct a reservation by the tokens really used (a refund when fewer)."""
    delta = (int(actual) - int(reserved)) * 60.0 / per_minute
    if delta == 0:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE ai_ratelimitbucket SET next_slot_at = next_slot_at "
            "  + make_interval(secs => %s), updated_at = clock_timestamp() WHERE key = %s",
            [delta, TOKEN_KEY_PREFIX + key],
        )


def push_back(key: str, seconds: float) -> None:
    """No request slot for `key` before `seconds` from now (a provider's Retry-After)."""
    _push(key, float(seconds))
    logger.info("rate limit %s pushed back %.1f s", key, seconds)


def push_back_tokens(key: str, seconds: float) -> None:
    """No room in `key`'s tokens-per-minute budget before `seconds` from now."""
    # Past the one-minute burst: the next reservation of any size waits >= seconds.
    _push(TOKEN_KEY_PREFIX + key, float(seconds) + TOKEN_BURST_SECONDS)


def _push(name: str, ahead: float) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ai_ratelimitbucket AS b (key, next_slot_at, updated_at) "
            "VALUES (%s, clock_timestamp() + make_interval(secs => %s), clock_timestamp()) "
            "ON CONFLICT (key) DO UPDATE SET "
            "  next_slot_at = GREATEST(b.next_slot_at, EXCLUDED.next_slot_at), "
            "  updated_at = clock_timestamp()",
            [name, ahead],
        )


# --- async: the reservation on the worker's database pool, the wait on the loop ---


async def aacquire(
    key: str, *, rate: float = 1.0, per: float = 1.0, max_wait: float | None = None
) -> float:
    """`acquire` for async code: the wait holds neither a thread nor a connection."""
    from jobs import aio

    wait = await aio.db(reserve, key, rate=rate, per=per, max_wait=max_wait)
    if wait > 0:
        await asyncio.sleep(wait)
    return wait


async def aacquire_tokens(
    key: str, *, tokens: int, per_minute: float, max_wait: float | None = None
) -> float:
    """`acquire_tokens` for async code (see `aacquire`)."""
    from jobs import aio

    wait = await aio.db(reserve_tokens, key, tokens=tokens, per_minute=per_minute,
                        max_wait=max_wait)
    if wait > 0:
        await asyncio.sleep(wait)
    return wait
