"""The four warnings about a connection's syncs, computed from `reporting.sync_health` rows.

Plain Python: the `sync_health` asset turns each outcome into an asset check result (severity WARN)
with the connections that fail it, and what is wrong with each, in its metadata.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

LAST_LOAD_ERROR_RATE = "last_load_error_rate"
FULL_SYNC_FRESH = "full_sync_fresh"
NO_DEAD_LETTERS = "no_dead_letters"
QUEUE_MOVING = "queue_moving"
REMOVALS_SUCCEED = "removals_succeed"


@dataclass(frozen=True)
class Thresholds:
    error_rate: float = 0.05
    """Warn when more than this share of the last load's writes were refused."""
    full_sync_max_age: timedelta = timedelta(hours=26)
    """Warn when the last successful full sync is older (the nightly reconcile runs every 24 h)."""
    queue_max_age: timedelta = timedelta(hours=1)
    """Warn when a change has waited longer than this in the queue."""


@dataclass(frozen=True)
class CheckOutcome:
    name: str
    description: str
    failing: dict[str, str]  # connection -> what is wrong, in words
    values: dict[str, Any] = field(default_factory=dict)  # connection -> the measured value

    @property
    def passed(self) -> bool:
        return not self.failing


CHECK_DESCRIPTIONS = {
    LAST_LOAD_ERROR_RATE: "Warns when SparkLayer refused more than the threshold share of a connection's last load.",
    FULL_SYNC_FRESH: "Warns when a connected store has had no successful full sync for 26 hours.",
    NO_DEAD_LETTERS: "Warns when a connection has changes that ran out of attempts (replay them).",
    QUEUE_MOVING: "Warns when a connection's oldest pending change has waited more than an hour.",
    REMOVALS_SUCCEED: "Warns while a removed connection's removal keeps failing (it is retried with a growing wait).",
}


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:.1f} h"


def evaluate(rows: Sequence[Mapping[str, Any]], now: datetime, thresholds: Thresholds = Thresholds()) -> list[CheckOutcome]:
    """One outcome per check over every connected store (pending connections are not checked yet), and the
    removal check over the connections being removed."""
    connected = [r for r in rows if r.get("status", "connected") == "connected"]
    removing = [r for r in rows if r.get("status") == "removing"]

    def check(name: str, value: Callable[[Mapping], Any], problem: Callable[[Mapping, Any], str | None],
              over: Sequence[Mapping[str, Any]] = connected) -> CheckOutcome:
        values, failing = {}, {}
        for row in over:
            measured = value(row)
            values[row["connection_id"]] = measured
            message = problem(row, measured)
            if message:
                failing[row["connection_id"]] = message
        return CheckOutcome(name, CHECK_DESCRIPTIONS[name], failing, values)

    def error_rate(row, rate):
        if rate is not None and float(rate) > thresholds.error_rate:
            return (f"{row['last_load_failed']} of {row['last_load_writes']} writes of the last load were refused "
                    f"({float(rate):.0%}); see sync_errors")
        return None

    def full_sync_age(row, last):
        if last is None:
            return "has never completed a full sync"
        age = now - last
        if age > thresholds.full_sync_max_age:
            return f"last successful full sync {_hours(age)} ago"
        return None

    def dead_letters(row, count):
        if count:
            return f"{count} dead letter(s); fix the cause, then run: ignite-etl replay {row['connection_id']}"
        return None

    def queue_age(row, oldest):
        if oldest is not None and now - oldest > thresholds.queue_max_age:
            return f"oldest pending change has waited {_hours(now - oldest)} ({row['queue_depth']} pending)"
        return None

    def removal_failures(row, failures):
        if failures:
            return (f"removal failed {failures} time(s) ({row.get('removal_last_outcome')}); next attempt at "
                    f"{row.get('removal_retry_at')}")
        return None

    return [
        check(REMOVALS_SUCCEED, lambda r: r.get("removal_failures") or 0, removal_failures, removing),
        check(LAST_LOAD_ERROR_RATE, lambda r: r.get("last_load_error_rate"), error_rate),
        check(FULL_SYNC_FRESH, lambda r: r.get("last_full_sync"), full_sync_age),
        check(NO_DEAD_LETTERS, lambda r: r.get("dead_letters") or 0, dead_letters),
        check(QUEUE_MOVING, lambda r: r.get("oldest_pending_at"), queue_age),
    ]
