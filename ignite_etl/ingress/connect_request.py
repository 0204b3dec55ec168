"""The body of SparkLayer's new-platform-connection call, checked field by field.

Secrets (the SparkLayer client secret, the platform API key) are split from the plain
configuration here, so only the former are encrypted and neither reaches a log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ignite_etl.ingress.http import Problem, field_error
from ignite_etl.platforms import PLATFORMS

DEFAULT_PLATFORM = "marketplacer"
MAX_TEXT = 2000
_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True)
class PlatformSettings:
    """A Marketplacer store's extra_config: the non-secret part and the secret part."""

    config: dict[str, Any]
    secrets: dict[str, str] = field(repr=False)

    @property
    def complete(self) -> bool:
        """Both the API URL and the key: the connection can complete without the connect page."""
        return bool(self.config.get("marketplacer_api_url") and self.secrets.get("marketplacer_api_key"))


@dataclass(frozen=True)
class ConnectRequest:
    store_id: str | None
    client_id: str
    client_secret: str = field(repr=False)
    platform: str = DEFAULT_PLATFORM
    settings: PlatformSettings = field(default_factory=lambda: PlatformSettings({}, {}))

    @property
    def sparklayer_credentials(self) -> dict[str, str]:
        return {"client_id": self.client_id, "client_secret": self.client_secret}


def parse_connect_request(body: dict[str, Any]) -> ConnectRequest:
    errors: list[dict] = []
    client_id = _text(body, "spark_api_client_id", errors, required=True)
    client_secret = _text(body, "spark_api_client_secret", errors, required=True)
    store_id = body.get("store_id")
    if isinstance(store_id, int) and not isinstance(store_id, bool):
        store_id = str(store_id)
    if store_id is not None and (not isinstance(store_id, str) or len(store_id) > MAX_TEXT):
        errors.append(field_error("store_id", "store_id must be a string or null", "invalid_type"))
        store_id = None
    extra = body.get("extra_config")
    if extra is None:
        extra = {}
    if not isinstance(extra, dict):
        errors.append(field_error("extra_config", "extra_config must be an object", "invalid_type"))
        extra = {}
    platform = _text(extra, "platform", errors, prefix="extra_config.") or DEFAULT_PLATFORM
    platform = platform.strip().lower()
    if platform not in PLATFORMS:
        errors.append(field_error("extra_config.platform", f"platform must be one of {', '.join(PLATFORMS)}",
                                  "unsupported"))
    settings = _platform_settings(extra, errors)
    if errors:
        raise Problem(400, "The connection request has invalid fields; nothing was changed.", errors=errors)
    return ConnectRequest(store_id or None, client_id, client_secret, platform, settings)


def _platform_settings(extra: dict[str, Any], errors: list[dict]) -> PlatformSettings:
    url = _text(extra, "marketplacer_api_url", errors, prefix="extra_config.")
    key = _text(extra, "marketplacer_api_key", errors, prefix="extra_config.")
    currency = _text(extra, "currency", errors, prefix="extra_config.")
    config: dict[str, Any] = {}
    if url:
        problem = check_api_url(url)
        if problem:
            errors.append(field_error("extra_config.marketplacer_api_url", problem))
        config["marketplacer_api_url"] = url.strip()
    if currency:
        currency = currency.strip().upper()
        if not _CURRENCY.match(currency):
            errors.append(field_error("extra_config.currency", "currency must be an ISO 4217 code such as AUD"))
        config["currency"] = currency
    secrets = {"marketplacer_api_key": key.strip()} if key else {}
    if url and key and not currency:
        errors.append(field_error(
            "extra_config.currency", "Marketplacer does not report a base currency: send the store's ISO 4217 "
            "code in extra_config.currency", "required"))
    return PlatformSettings(config, secrets)


def check_api_url(url: str) -> str | None:
    """Why `url` cannot be a Marketplacer API URL, or None."""
    url = url.strip()
    if not re.match(r"^https?://[^\s/]+", url):
        return "the Marketplacer API URL must be an http(s) URL, e.g. https://yourstore.marketplacer.com/graphql"
    return None


def _text(source: dict, name: str, errors: list[dict], *, required: bool = False, prefix: str = "") -> str | None:
    value = source.get(name)
    if value is None or value == "":
        if required:
            errors.append(field_error(prefix + name, f"{name} is required", "required"))
        return None
    if not isinstance(value, str):
        errors.append(field_error(prefix + name, f"{name} must be a string", "invalid_type"))
        return None
    if len(value) > MAX_TEXT:
        errors.append(field_error(prefix + name, f"{name} is longer than {MAX_TEXT} characters", "too_long"))
        return None
    return value
