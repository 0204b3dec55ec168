"""The one retry policy of the SparkLayer client: which answers are retried, and how long to wait (the
shared `ignite_etl.backoff` policy)."""

from __future__ import annotations

from ignite_etl.backoff import RetryPolicy, parse_retry_after

__all__ = ["RetryPolicy", "is_retryable_status", "parse_retry_after"]


def is_retryable_status(status_code: int, *, retry_conflict: bool) -> bool:
    return status_code >= 500 or (status_code == 409 and retry_conflict)
