"""How every outbound client waits: backoff with jitter, Retry-After read as a floor and capped, and a
total deadline per call, so that no answer a server gives can keep a call (and the run it belongs to)
waiting without end."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter for failures (5xx, network errors), and rate-limit waits.

    A rate limit (429, or a platform's 503 with Retry-After) is not a failure: its waits do not use up
    `max_attempts`, only the separate, larger `max_rate_limit_waits`. Every wait is at least
    `base_delay` (a `Retry-After: 0` does not make a busy loop) and at most `max_retry_after`; and a
    call gives up as soon as its next wait would pass `deadline_seconds` from its first attempt.
    """

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_rate_limit_waits: int = 30
    max_retry_after: float = 120.0
    deadline_seconds: float = 600.0
    jitter: bool = True
    _random: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return self._random.uniform(ceiling / 2, ceiling) if self.jitter else ceiling

    def rate_limit_wait(self, retry_after: str | None, waits_so_far: int) -> float:
        seconds = parse_retry_after(retry_after)
        if seconds is None:
            return self.backoff(waits_so_far + 1)
        return min(max(seconds, self.base_delay), self.max_retry_after)

    def deadline(self, clock: Callable[[], float] = time.monotonic) -> Deadline:
        return Deadline(clock() + self.deadline_seconds, clock)


@dataclass(frozen=True)
class Deadline:
    """The moment a call must have an answer by."""

    at: float
    clock: Callable[[], float] = time.monotonic

    def allows(self, wait: float) -> bool:
        """Whether waiting `wait` seconds more still leaves the call inside its deadline."""
        return self.clock() + wait <= self.at


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header: delay-seconds or an HTTP date; None when absent or garbled."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
