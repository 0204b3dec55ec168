"""Typed failures of SparkLayer calls: retryable, permanent per record, or bad credentials."""

from __future__ import annotations


class SparkLayerError(Exception):
    """Base of every error the SparkLayer client raises."""


class TransientError(SparkLayerError):
    """SparkLayer kept answering 5xx, 429 or 409 (concurrent update), or could not be reached,
    until the retry budget ran out. Running the sync again later is expected to succeed."""

    def __init__(self, message: str, *, status_code: int | None = None):
        super().__init__(message)
        self.status_code = status_code


class RecordRejected(SparkLayerError):
    """SparkLayer refused a request with a 4xx that retrying unchanged cannot fix.

    `message` is SparkLayer's own explanation; `problems` holds its field-level errors, either
    RFC 7807 `{code, message, property}` items or the pricing API's `{line, field, message}`.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        external_id: str | None = None,
        problems: list[dict] | None = None,
    ):
        super().__init__(message if external_id is None else f"{external_id}: {message}")
        self.message = message
        self.status_code = status_code
        self.external_id = external_id
        self.problems = problems or []


class AuthenticationFailed(SparkLayerError):
    """SparkLayer refused the Site ID, Client ID or Client Secret; the merchant has to reconnect
    or issue new API credentials in the SparkLayer Dashboard (Settings > API)."""


class InvalidRequest(SparkLayerError, ValueError):
    """The client refused to send a request SparkLayer is documented to reject (e.g. a sync log
    with more than 5,000 errors or a repeated external id)."""
