"""A platform's published rate limit, kept in Postgres so that every worker on every machine shares it.

A platform names the scope its limit counts (a Marketplacer instance, a Shopify store) and the limit as
published; `SharedRateLimits` hands out one limiter per scope whose reservations are rows of the app database
(`store/rate_limits.py`). However many run workers or Celery workers call a store at once, together they send
at most `share` of its limit in any window: a burst of a tenth of that budget, then an even pace.

A platform that meters cost rather than requests (Shopify's leaky bucket of query points) takes a
`SharedCostBucket` instead: the same row, advanced by each query's points at the bucket's restore rate.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from ignite_etl.settings import DEFAULT_PLATFORM_RATE_SHARE
from ignite_etl.store import rate_limits
from ignite_etl.store.database import Conn, Database


class Limiter(Protocol):
    def acquire(self) -> float:
        """Wait until the next request may be sent; the seconds waited."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class RateLimit:
    """`requests` per sliding window of `window_seconds`, as the platform publishes it."""

    requests: int
    window_seconds: float

    def pace(self, share: float, time_scale: float = 1.0) -> tuple[float, float]:
        """(interval, burst seconds) that keep any window at or under `share` of the limit: a burst of
        B requests plus one every `interval` after it, where B + window / interval = budget."""
        budget = max(2, int(self.requests * share))
        burst = max(1, budget // 10)
        interval = self.window_seconds * time_scale / (budget - burst)
        return interval, (burst - 1) * interval


def scope_name(platform: str, *parts: str) -> str:
    """A scope's row name: the platform and a digest of what identifies the store (never a key in clear)."""
    return f"{platform}:" + hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


class LocalLimiter:
    """The same pace kept in this process only: for a single call outside a sync (the connect page's check)."""

    def __init__(self, limit: RateLimit, *, share: float = DEFAULT_PLATFORM_RATE_SHARE, time_scale: float = 1.0,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self._interval, self._burst = limit.pace(share, time_scale)
        self._clock = clock
        self._sleep = sleep
        self._next_at = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        with self._lock:
            now = self._clock()
            self._next_at = max(self._next_at, now) + self._interval
            wait = max(self._next_at - now - self._burst - self._interval, 0.0)
        if wait:
            self._sleep(wait)
        return wait

    def close(self) -> None:
        pass


class _ScopeConnection:
    """The one autocommit connection a shared limiter holds while in use, opened when first needed (again after
    a drop) and used by one thread at a time."""

    def __init__(self, database: Database):
        self._database = database
        self._conn: Conn | None = None
        self._lock = threading.Lock()

    @contextmanager
    def use(self) -> Iterator[Conn]:
        with self._lock:
            if self._conn is None or self._conn.closed:
                self._conn = self._database.connect(autocommit=True)
            yield self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class SharedLimiter:
    """One scope's limit, reserved in the app database; holds one autocommit connection while in use."""

    def __init__(self, database: Database, scope: str, limit: RateLimit, *, share: float = DEFAULT_PLATFORM_RATE_SHARE,
                 time_scale: float = 1.0, sleep: Callable[[float], None] = time.sleep):
        self.scope = scope
        self._interval, self._burst = limit.pace(share, time_scale)
        self._sleep = sleep
        self._connection = _ScopeConnection(database)

    def acquire(self) -> float:
        with self._connection.use() as conn:
            wait = rate_limits.reserve(conn, self.scope, self._interval, self._burst)
        if wait:
            self._sleep(wait)
        return wait

    def close(self) -> None:
        self._connection.close()


class SharedCostBucket:
    """One scope's leaky bucket of cost points (`maximum` points, refilled at `restore_rate` a second), kept in
    the app database so that every worker calling the store shares one reading of it. A query reserves the
    points it is expected to cost before it is sent and gives back what it did not use; both figures can
    change from one call to the next (the platform reports them on every answer)."""

    def __init__(self, database: Database, scope: str, *, share: float = DEFAULT_PLATFORM_RATE_SHARE,
                 time_scale: float = 1.0, sleep: Callable[[float], None] = time.sleep):
        self.scope = scope
        self._share = share
        self._time_scale = time_scale
        self._sleep = sleep
        self._connection = _ScopeConnection(database)

    def _seconds(self, points: float, restore_rate: float) -> float:
        return points * self._time_scale / (restore_rate * self._share)

    def reserve(self, points: float, *, maximum: float, restore_rate: float) -> float:
        """Wait until `share` of the bucket holds `points`, taking them; the seconds waited."""
        cost = self._seconds(points, restore_rate)
        capacity = maximum * self._time_scale / restore_rate  # share x maximum points, at share x the rate
        waited = 0.0
        while True:
            with self._connection.use() as conn:
                wait = rate_limits.take_if_free(conn, self.scope, cost, max(capacity, cost))
            if not wait:
                return waited
            self._sleep(wait)
            waited += wait

    def settle(self, taken: float, spent: float, *, restore_rate: float, held_seconds: float) -> None:
        """A query that took `taken` points `held_seconds` ago spent `spent` of them, as the platform has just
        said. The bucket counted `taken` as refilling from the moment they were taken; the platform charged
        `spent` when the query ran, later. So `spent` is counted from now, and the rest is given back."""
        seconds = self._seconds(taken - spent, restore_rate) - held_seconds
        if seconds:
            with self._connection.use() as conn:
                rate_limits.give_back(conn, self.scope, seconds)

    def close(self) -> None:
        self._connection.close()


@dataclass(frozen=True)
class SharedRateLimits:
    """What a sync hands a platform adapter: limiters for the scopes it calls, shared through `database`."""

    database: Database
    share: float = DEFAULT_PLATFORM_RATE_SHARE
    time_scale: float = 1.0

    def limiter(self, scope: str, limit: RateLimit) -> SharedLimiter:
        return SharedLimiter(self.database, scope, limit, share=self.share, time_scale=self.time_scale)

    def cost_bucket(self, scope: str) -> SharedCostBucket:
        return SharedCostBucket(self.database, scope, share=self.share, time_scale=self.time_scale)
