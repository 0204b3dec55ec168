"""Marketplacer through its GraphQL Operator API and webhooks."""

from ignite_etl.platforms.marketplacer.client import (
    MarketplacerClient,
    MarketplacerMutationError,
    MarketplacerQueryError,
    RequestLimiter,
)
from ignite_etl.platforms.marketplacer.platform import MarketplacerPlatform
from ignite_etl.platforms.marketplacer.webhooks import verify_webhook

__all__ = [
    "MarketplacerClient",
    "MarketplacerMutationError",
    "MarketplacerPlatform",
    "MarketplacerQueryError",
    "RequestLimiter",
    "verify_webhook",
]
