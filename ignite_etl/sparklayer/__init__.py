"""The SparkLayer API client: auth, endpoints, batching, retries and rate limiting."""

from ignite_etl.sparklayer.client import SparkLayerClient
from ignite_etl.sparklayer.errors import (
    AuthenticationFailed,
    InvalidRequest,
    RecordRejected,
    SparkLayerError,
    TransientError,
)
from ignite_etl.sparklayer.models import WriteResult
from ignite_etl.sparklayer.retry import RetryPolicy
from ignite_etl.sparklayer.token_store import InMemoryTokenStore, PostgresTokenStore, StoredToken, TokenStore

__all__ = [
    "AuthenticationFailed",
    "InMemoryTokenStore",
    "InvalidRequest",
    "PostgresTokenStore",
    "RecordRejected",
    "RetryPolicy",
    "SparkLayerClient",
    "SparkLayerError",
    "StoredToken",
    "TokenStore",
    "TransientError",
    "WriteResult",
]
