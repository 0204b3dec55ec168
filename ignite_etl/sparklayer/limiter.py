"""A per-site token bucket, so the client stays under SparkLayer's rate limit instead of meeting 429s."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class RateLimiter:
    """Allows `requests_per_second` on average with bursts of up to `burst` requests.

    Create it inside the event loop that uses it (the client does so on entry).
    """

    def __init__(self, requests_per_second: float, *, burst: int | None = None, monotonic: Callable[[], float] = time.monotonic):
        if requests_per_second <= 0:
            raise ValueError("requests_per_second must be positive")
        self.rate = requests_per_second
        self.capacity = float(burst if burst is not None else max(1, int(requests_per_second)))
        self._tokens = self.capacity
        self._monotonic = monotonic
        self._updated = monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = self._monotonic()
                self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
                self._updated = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await asyncio.sleep((1 - self._tokens) / self.rate)
