"""A platform's published rate limit, kept in Postgres so that every worker on every machine shares it.

A platform names the scope its limit counts (a Marketplacer instance, a Shopify store) and the limit as
published; `SharedRateLimits` hands out one limiter per scope whose reservations are rows of the app database
(`store/rate_limits.py`). However many run workers or Celery workers call a store at once, together they send
at most `share` of its limit in any window: a burst of a tenth of that budget, then an even pace.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
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


class SharedLimiter:
    """One scope's limit, reserved in the app database; holds one autocommit connection while in use."""

    def __init__(self, database: Database, scope: str, limit: RateLimit, *, share: float = DEFAULT_PLATFORM_RATE_SHARE,
                 time_scale: float = 1.0, sleep: Callable[[float], None] = time.sleep):
        self.scope = scope
        self._database = database
        self._interval, self._burst = limit.pace(share, time_scale)
        self._sleep = sleep
        self._conn: Conn | None = None
        self._lock = threading.Lock()

    def acquire(self) -> float:
        with self._lock:
            if self._conn is None or self._conn.closed:
                self._conn = self._database.connect(autocommit=True)
            wait = rate_limits.reserve(self._conn, self.scope, self._interval, self._burst)
        if wait:
            self._sleep(wait)
        return wait

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


@dataclass(frozen=True)
class SharedRateLimits:
    """What a sync hands a platform adapter: limiters for the scopes it calls, shared through `database`."""

    database: Database
    share: float = DEFAULT_PLATFORM_RATE_SHARE
    time_scale: float = 1.0

    def limiter(self, scope: str, limit: RateLimit) -> SharedLimiter:
        return SharedLimiter(self.database, scope, limit, share=self.share, time_scale=self.time_scale)
