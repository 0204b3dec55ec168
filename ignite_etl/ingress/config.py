"""What the ingress needs to run, built once from Settings at the edge (`ignite-etl ingress`, tests)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ignite_etl.errors import ConfigurationError
from ignite_etl.settings import Settings

MAX_BODY_BYTES = 1_048_576
"""Largest request body the ingress reads (1 MiB); a larger one gets 413 before it is read whole."""


@dataclass(frozen=True)
class IngressConfig:
    database_url: str = field(repr=False)
    secret_key: str = field(repr=False)
    """IGNITE_SECRET_KEY: one or more Fernet keys, newest first."""
    ingress_token: str = field(repr=False)
    """IGNITE_INGRESS_TOKEN: the bearer token SparkLayer's calls carry."""
    public_url: str = "http://127.0.0.1:8090"
    """IGNITE_PUBLIC_URL: where redirects and platform webhooks point."""
    max_body_bytes: int = MAX_BODY_BYTES
    body_timeout_seconds: float = 30.0
    """A body not received whole within this long is answered 408 (a slow-body client holds nothing longer)."""
    connect_token_ttl_seconds: int = 24 * 3600
    """How long a connect-page link works."""
    sync_running_window_seconds: int = 6 * 3600
    """A sync unfinished for longer than this no longer blocks a trigger (its run crashed)."""
    page_size: int = 100
    """Entities per page of the list-entities endpoint."""
    pool_min_size: int = 2
    pool_max_size: int = 10
    pool_timeout_seconds: float = 5.0
    """The longest a request waits for a database connection before it is answered 503 (psycopg's default,
    30 s, is longer than webhook senders wait)."""
    platform_timeout_seconds: float = 15.0
    """The whole of one platform call from the ingress (retries and waits included)."""
    outbound_policy: str = "public"
    """Which store URLs the ingress may call (`platforms/outbound.py`): public, or loopback for the sandbox."""
    max_platform_calls: int = 4
    """Platform calls (credentials checks, customer calls) in flight at once; more get 503 at once, so
    slow stores cannot take every worker thread."""
    platform_time_scale: float = 0.1
    """Scales the platform client's retry waits for that check, so a merchant waits seconds, not a minute."""
    dashboard_url: str = "https://app.sparklayer.io/api/dashboard"
    """SPARKLAYER_DASHBOARD_URL: SparkLayer's Dashboard API (registration, platform connection, onboarding)."""
    dashboard_token: str | None = field(default=None, repr=False)
    """SPARKLAYER_DASHBOARD_TOKEN: our partner credential for the Dashboard API."""
    platform_apps: Mapping[str, Mapping[str, str]] = field(default_factory=dict, repr=False)
    """App credentials of app-store platforms, by platform name (IGNITE_APP_<PLATFORM>_<KEY>)."""
    install_state_ttl_seconds: int = 3600
    """How long a merchant has to authorise the app on the platform once the install started."""
    install_page_ttl_seconds: int = 7 * 24 * 3600
    """How long the registration and onboarding links work."""
    reconnect_after_seconds: float = 60.0
    """The onboarding page asks SparkLayer to connect the store again when the connection has not arrived
    this long after the last request."""

    def __post_init__(self) -> None:
        if not self.ingress_token:
            raise ConfigurationError(
                "IGNITE_INGRESS_TOKEN is not set: the ingress refuses to start without the bearer token "
                "SparkLayer's calls must carry. Generate one (e.g. `openssl rand -hex 32`) and set it."
            )
        if self.max_body_bytes < 1024:
            raise ConfigurationError("the ingress body limit must be at least 1024 bytes")

    @classmethod
    def from_settings(cls, settings: Settings, database_url: str, **overrides) -> IngressConfig:
        return cls(
            database_url=database_url,
            secret_key=settings.resolve_secret_key(),
            ingress_token=settings.resolve_ingress_token() or "",
            public_url=settings.public_url,
            dashboard_url=settings.sparklayer_dashboard_url,
            dashboard_token=settings.resolve_dashboard_token(),
            platform_apps=settings.platform_apps,
            outbound_policy=settings.outbound_policy,
            **overrides,
        )
