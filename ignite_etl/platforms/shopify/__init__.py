"""Shopify through its Admin GraphQL API (2025-01), app install and webhooks."""

from ignite_etl.platforms.base import PlatformSpec
from ignite_etl.platforms.shopify.client import ShopifyClient, ShopifyQueryError, ShopifyUserError
from ignite_etl.platforms.shopify.install import ShopifyInstall
from ignite_etl.platforms.shopify.platform import ShopifyPlatform
from ignite_etl.platforms.shopify.settings import CONNECT_HELP, FORM_FIELDS, ShopifySettings
from ignite_etl.platforms.shopify.webhooks import verify_privacy_webhook, verify_webhook

PLATFORM = PlatformSpec(
    name="shopify",
    display_name="Shopify",
    settings=ShopifySettings,
    form_fields=FORM_FIELDS,
    connect_help=CONNECT_HELP,
    build=ShopifyPlatform.from_settings,
    verify_webhook=verify_webhook,
    install=ShopifyInstall,
    verify_privacy_webhook=verify_privacy_webhook,
    has_customers=True,
)

__all__ = [
    "PLATFORM",
    "ShopifyClient",
    "ShopifyInstall",
    "ShopifyPlatform",
    "ShopifyQueryError",
    "ShopifySettings",
    "ShopifyUserError",
    "verify_webhook",
]
