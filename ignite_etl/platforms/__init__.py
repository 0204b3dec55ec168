"""Platform adapters behind one interface, and the registry that names them: nothing outside a platform's
own package names a platform. Adding one is its package (which exposes a `PLATFORM` spec) and one line below."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ignite_etl.platforms.base import (
    ConnectSettings,
    FormField,
    InstallFlow,
    InstallRefused,
    InstallStart,
    InvalidConfiguration,
    InvalidCredentials,
    InvalidSession,
    InvalidSettings,
    NotSupported,
    Platform,
    PlatformError,
    PlatformSpec,
    PlatformUnavailable,
    PrivacyRequest,
    SettingProblem,
    WebhookMalformed,
    WebhookRegistration,
    WebhookRejected,
)

_REGISTRY: dict[str, PlatformSpec] = {}


def register(spec: PlatformSpec) -> None:
    """Make a platform known to the ingress, the syncs and the Dagster definitions."""
    _REGISTRY[spec.name] = spec


def unregister(name: str) -> None:
    """Forget a platform (tests that registered one of their own)."""
    _REGISTRY.pop(name, None)


def platform_spec(name: str | None) -> PlatformSpec:
    spec = _REGISTRY.get((name or "").strip().lower())
    if spec is None:
        raise InvalidConfiguration(
            f"Unknown platform {name!r}: set extra_config.platform to one of {', '.join(sorted(_REGISTRY))}"
        )
    return spec


def platform_specs() -> Iterator[PlatformSpec]:
    return iter(sorted(_REGISTRY.values(), key=lambda spec: spec.name))


def platform_for(
    platform_name: str, config: Mapping[str, Any], secrets: Mapping[str, str], *,
    app_options: Mapping[str, Any] | None = None, **options: Any
) -> Platform:
    """The adapter for a connection: `config` is its stored plain settings, `secrets` the decrypted ones.

    `options` go to the adapter (e.g. `page_size`, `time_scale`, `http_client`); `app_options` are
    added for an app-store platform only (its app's credentials, where to save renewed secrets)."""
    spec = platform_spec(platform_name)
    if spec.install is not None and app_options is not None:
        options = {**app_options, **options}
    return spec.build(spec.settings.stored(config, secrets), **options)


def _register_shipped() -> None:
    from ignite_etl.platforms import marketplacer, shopify

    register(marketplacer.PLATFORM)
    register(shopify.PLATFORM)


_register_shipped()

__all__ = [
    "ConnectSettings",
    "FormField",
    "InstallFlow",
    "InstallRefused",
    "InstallStart",
    "InvalidConfiguration",
    "InvalidCredentials",
    "InvalidSession",
    "InvalidSettings",
    "NotSupported",
    "Platform",
    "PlatformError",
    "PlatformSpec",
    "PlatformUnavailable",
    "PrivacyRequest",
    "SettingProblem",
    "WebhookRegistration",
    "WebhookMalformed",
    "WebhookRejected",
    "platform_for",
    "platform_spec",
    "platform_specs",
    "register",
    "unregister",
]
