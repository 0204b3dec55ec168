"""Platform adapters behind one interface: callers build one with `platform_for` and never import a platform."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ignite_etl.platforms.base import (
    InvalidConfiguration,
    InvalidCredentials,
    Platform,
    PlatformError,
    PlatformUnavailable,
    WebhookRegistration,
    WebhookRejected,
)

PLATFORMS = ("marketplacer",)


def platform_for(
    platform_name: str, config: Mapping[str, Any], secrets: Mapping[str, str], **options: Any
) -> Platform:
    """The adapter for a connection: `config` is its extra_config without secrets, `secrets` the decrypted ones.

    `options` go to the adapter (e.g. `page_size`, `time_scale`, `http_client`)."""
    name = (platform_name or "").strip().lower()
    if name == "marketplacer":
        from ignite_etl.platforms.marketplacer import MarketplacerPlatform

        return MarketplacerPlatform.from_config(config, secrets, **options)
    raise InvalidConfiguration(
        f"Unknown platform {platform_name!r}: set extra_config.platform to one of {', '.join(PLATFORMS)}"
    )


def verify_webhook(platform_name: str, headers: Mapping[str, str], raw_body: bytes, key: str):
    """Verify a delivery for `platform_name` without building a connected adapter."""
    name = (platform_name or "").strip().lower()
    if name == "marketplacer":
        from ignite_etl.platforms.marketplacer.webhooks import verify_webhook as verify

        return verify(headers, raw_body, key)
    raise InvalidConfiguration(f"Unknown platform {platform_name!r}")


__all__ = [
    "PLATFORMS",
    "InvalidConfiguration",
    "InvalidCredentials",
    "Platform",
    "PlatformError",
    "PlatformUnavailable",
    "WebhookRegistration",
    "WebhookRejected",
    "platform_for",
    "verify_webhook",
]
