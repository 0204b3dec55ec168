"""The sandbox's knobs and records: injected faults, the rate limit and the request journal."""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass, field


@dataclass
class Faults:
    """Injected trouble for API calls (never for `/_sandbox/`)."""

    latency_seconds: float = 0.0
    error_rate: float = 0.0
    error_status: int = 500
    outage_until: float | None = None  # monotonic time until which every call answers 503
    fail_next: int = 0
    fail_next_status: int = 503
    fail_next_path_contains: str | None = None
    rejected_records: dict[str, str] = field(default_factory=dict)  # external_id or sku -> message
    random: random.Random = field(default_factory=lambda: random.Random(0), repr=False)

    def public(self) -> dict:
        data = asdict(self)
        data.pop("random")
        return data


@dataclass
class RateLimit:
    """A fixed window of `requests` per `window_seconds` for each (env, Site-Id)."""

    requests: int
    window_seconds: float
    _windows: dict[tuple[str, str], tuple[float, int]] = field(default_factory=dict, repr=False)

    def retry_after(self, key: tuple[str, str], now: float) -> int | None:
        """None if this request may pass (and count it), else whole seconds to wait."""
        start, count = self._windows.get(key, (now, 0))
        if now - start >= self.window_seconds:
            start, count = now, 0
        if count >= self.requests:
            return max(1, math.ceil(start + self.window_seconds - now))
        self._windows[key] = (start, count + 1)
        return None


@dataclass(frozen=True)
class JournalEntry:
    """One request as the sandbox saw it; no headers, bodies or secrets."""

    seq: int
    method: str
    path: str
    env: str | None
    site_id: str | None
    status: int
    body_bytes: int
    item_count: int
    in_flight: int  # requests of this site already in progress when this one arrived, plus itself
    arrived: float  # monotonic seconds
    at: str  # the sandbox clock, ISO 8601
    fault: str | None = None

    def to_json(self) -> dict:
        return asdict(self)
