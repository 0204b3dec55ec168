"""Marketplacer through its GraphQL Operator API and webhooks."""

from ignite_etl.platforms.base import PlatformSpec
from ignite_etl.platforms.marketplacer.client import (
    MarketplacerClient,
    MarketplacerMutationError,
    MarketplacerQueryError,
)
from ignite_etl.platforms.marketplacer.platform import MarketplacerPlatform
from ignite_etl.platforms.marketplacer.settings import CONNECT_HELP, FORM_FIELDS, MarketplacerSettings
from ignite_etl.platforms.marketplacer.webhooks import verify_webhook

PLATFORM = PlatformSpec(
    name="marketplacer",
    display_name="Marketplacer",
    settings=MarketplacerSettings,
    form_fields=FORM_FIELDS,
    connect_help=CONNECT_HELP,
    build=MarketplacerPlatform.from_settings,
    verify_webhook=verify_webhook,
)

__all__ = [
    "PLATFORM",
    "MarketplacerClient",
    "MarketplacerMutationError",
    "MarketplacerPlatform",
    "MarketplacerQueryError",
    "MarketplacerSettings",
    "verify_webhook",
]
