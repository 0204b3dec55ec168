"""The one retry policy of the SparkLayer client: which answers are retried and how long to wait."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter for 5xx, 409 concurrent updates and network errors.

    A 429 is not a failure: its wait (Retry-After, else the backoff) does not use up
    `max_attempts`, only the separate, larger `max_rate_limit_waits`.
    """

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_rate_limit_waits: int = 30
    max_retry_after: float = 120.0
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
        return min(seconds, self.max_retry_after)


def is_retryable_status(status_code: int, *, retry_conflict: bool) -> bool:
    return status_code >= 500 or (status_code == 409 and retry_conflict)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header: delay-seconds or an HTTP date; None when absent or garbled."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
