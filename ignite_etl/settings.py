"""Configuration read from the environment once, at the edges (the CLI, the ingress, the Dagster definitions
functions), never at import time or deep inside: everything else is handed what it needs."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ignite_etl.errors import ConfigurationError

DEFAULT_SENSOR_INTERVAL_SECONDS = 30
DEFAULT_RECONCILE_CRON = "0 2 * * *"
DEFAULT_RECONCILE_TIMEZONE = "UTC"
DEFAULT_DASHBOARD_URL = "https://app.sparklayer.io/api/dashboard"
DEFAULT_PLATFORM_RATE_SHARE = 0.9
"""The part of a store's published rate limit we use: the rest absorbs clock skew and the merchant's own tools."""
OUTBOUND_POLICIES = ("public", "loopback")
"""The names `platforms/outbound.OutboundPolicy.named` takes."""
APP_PREFIX = "IGNITE_APP_"
"""`IGNITE_APP_<PLATFORM>_<KEY>`: an app-store platform's app credentials, e.g. IGNITE_APP_SHOPIFY_CLIENT_ID."""


@dataclass(frozen=True)
class Settings:
    home: Path
    environment: str = "development"
    database_url: str | None = None
    dagster_database_url: str | None = None
    secret_key: str | None = field(default=None, repr=False)
    ingress_token: str | None = field(default=None, repr=False)
    public_url: str = "http://127.0.0.1:8090"
    sparklayer_api_url: str | None = None
    sensor_interval_seconds: int = DEFAULT_SENSOR_INTERVAL_SECONDS
    queue_max_attempts: int = 8
    queue_retry_seconds: float = 30.0
    queue_linger_seconds: float = 10.0
    orders_pass_minutes: int = 15
    reconcile_cron: str = DEFAULT_RECONCILE_CRON
    reconcile_timezone: str = DEFAULT_RECONCILE_TIMEZONE
    sparklayer_dashboard_url: str = DEFAULT_DASHBOARD_URL
    sparklayer_dashboard_token: str | None = field(default=None, repr=False)
    platform_apps: Mapping[str, Mapping[str, str]] = field(default_factory=dict, repr=False)
    """Per platform name, its app credentials (keys lower case) from `IGNITE_APP_<PLATFORM>_<KEY>`."""
    platform_rate_share: float = DEFAULT_PLATFORM_RATE_SHARE
    """IGNITE_PLATFORM_RATE_SHARE: the part of each store's published API rate limit our syncs use, shared by
    every worker (leave the rest to the merchant's other tools)."""
    celery_broker_url: str | None = field(default=None, repr=False)
    """IGNITE_CELERY_BROKER_URL: when set, sync steps run on `ignite-etl worker` processes through this Celery
    broker (RabbitMQ `amqp://`, Redis `redis://`); unset, in the run's own process. It may hold a password."""
    outbound_policy: str = "public"
    """IGNITE_OUTBOUND_POLICY: which store URLs we call (`platforms/outbound.py`): `public` (https, public
    addresses only; the production default) or `loopback` (also this machine's sandbox; the development default)."""

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> Settings:
        env = os.environ if environ is None else environ
        home = Path(env.get("IGNITE_HOME") or (cwd or Path.cwd()) / ".ignite").resolve()
        environment = env.get("IGNITE_ENV", "development").strip().lower()
        if environment not in ("development", "production"):
            raise ConfigurationError(f"IGNITE_ENV must be development or production, not {environment!r}")
        cron = (env.get("IGNITE_RECONCILE_CRON") or DEFAULT_RECONCILE_CRON).strip()
        if len(cron.split()) != 5:
            raise ConfigurationError(
                f"IGNITE_RECONCILE_CRON must be a cron expression of five fields, e.g. '0 2 * * *', not {cron!r}"
            )
        timezone = (env.get("IGNITE_RECONCILE_TIMEZONE") or DEFAULT_RECONCILE_TIMEZONE).strip()
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigurationError(
                f"IGNITE_RECONCILE_TIMEZONE must be an IANA time zone such as 'UTC' or 'Australia/Sydney', not {timezone!r}"
            ) from None
        outbound = (env.get("IGNITE_OUTBOUND_POLICY") or ("public" if environment == "production" else "loopback"))
        if outbound.strip().lower() not in OUTBOUND_POLICIES:
            raise ConfigurationError(
                f"IGNITE_OUTBOUND_POLICY must be one of {', '.join(OUTBOUND_POLICIES)}, not {outbound!r}")
        return cls(
            home=home,
            environment=environment,
            database_url=env.get("IGNITE_DATABASE_URL") or None,
            dagster_database_url=env.get("IGNITE_DAGSTER_DATABASE_URL") or None,
            secret_key=env.get("IGNITE_SECRET_KEY") or None,
            ingress_token=env.get("IGNITE_INGRESS_TOKEN") or None,
            public_url=(env.get("IGNITE_PUBLIC_URL") or "http://127.0.0.1:8090").rstrip("/"),
            sparklayer_api_url=(env.get("SPARKLAYER_API_URL") or "").rstrip("/") or None,
            sensor_interval_seconds=_number(env, "IGNITE_SENSOR_INTERVAL_SECONDS", DEFAULT_SENSOR_INTERVAL_SECONDS, int, 1),
            queue_max_attempts=_number(env, "IGNITE_QUEUE_MAX_ATTEMPTS", 8, int, 1),
            queue_retry_seconds=_number(env, "IGNITE_QUEUE_RETRY_SECONDS", 30.0, float, 0),
            queue_linger_seconds=_number(env, "IGNITE_QUEUE_LINGER_SECONDS", 10.0, float, 0),
            orders_pass_minutes=_number(env, "IGNITE_ORDERS_PASS_MINUTES", 15, int, 1),
            reconcile_cron=cron,
            reconcile_timezone=timezone,
            sparklayer_dashboard_url=(env.get("SPARKLAYER_DASHBOARD_URL") or DEFAULT_DASHBOARD_URL).rstrip("/"),
            sparklayer_dashboard_token=env.get("SPARKLAYER_DASHBOARD_TOKEN") or None,
            platform_apps=_platform_apps(env),
            outbound_policy=outbound.strip().lower(),
            platform_rate_share=_share(env, "IGNITE_PLATFORM_RATE_SHARE", DEFAULT_PLATFORM_RATE_SHARE),
            celery_broker_url=(env.get("IGNITE_CELERY_BROKER_URL") or "").strip() or None,
        )

    def sparklayer_base_url(self, site_env: str) -> str:
        """SPARKLAYER_API_URL when set (a `{site_env}` in it is filled in), else the URL `site_env` selects."""
        from ignite_etl.sparklayer.endpoints import base_url_for

        try:
            return base_url_for(site_env, self.sparklayer_api_url)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None

    def resolve_secret_key(self) -> str:
        """IGNITE_SECRET_KEY; in development a key generated once into the home folder."""
        if self.secret_key:
            return self.secret_key
        if self.is_production:
            raise ConfigurationError(
                "IGNITE_SECRET_KEY is required when IGNITE_ENV=production: it encrypts stored credentials. "
                "Generate one with `ignite-etl secret-key` and keep it in your secret store."
            )
        from ignite_etl.store.cipher import CredentialCipher

        return self._generated_once("secret.key", CredentialCipher.generate_key)

    def resolve_ingress_token(self) -> str | None:
        """IGNITE_INGRESS_TOKEN; in development a token generated once into the home folder, so the
        local stack and a developer's curl agree; in production only what is configured."""
        if self.ingress_token or self.is_production:
            return self.ingress_token
        return self._generated_once("ingress.token", lambda: secrets.token_urlsafe(32))

    def resolve_dashboard_token(self) -> str | None:
        """SPARKLAYER_DASHBOARD_TOKEN; in development a token generated once into the home folder, which the
        local SparkLayer simulator's Dashboard API accepts; in production only what is configured."""
        if self.sparklayer_dashboard_token or self.is_production:
            return self.sparklayer_dashboard_token
        return self._generated_once("dashboard.token", lambda: secrets.token_urlsafe(32))

    def _generated_once(self, name: str, generate: Callable[[], str]) -> str:
        value_file = self.home / name
        if not value_file.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            tmp = value_file.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(generate() + "\n")
            tmp.chmod(0o600)
            try:
                os.link(tmp, value_file)  # atomic: a concurrent process keeps the first value written
            except FileExistsError:
                pass
            finally:
                tmp.unlink(missing_ok=True)
        return value_file.read_text().strip()


def _platform_apps(env: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """`IGNITE_APP_SHOPIFY_CLIENT_ID=x` -> {"shopify": {"client_id": "x"}}: the platform is the first word."""
    apps: dict[str, dict[str, str]] = {}
    for name, value in env.items():
        platform, _, key = name[len(APP_PREFIX):].partition("_")
        if name.startswith(APP_PREFIX) and platform and key and value:
            apps.setdefault(platform.lower(), {})[key.lower()] = value
    return apps


def _number(env: Mapping[str, str], name: str, default, kind, minimum):
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = kind(raw)
        if value < minimum:
            raise ValueError
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise ConfigurationError(f"{name} must be {what} >= {minimum}, not {raw!r}") from None
    return value


def _share(env: Mapping[str, str], name: str, default: float) -> float:
    value = _number(env, name, default, float, 0.01)
    if value > 1:
        raise ConfigurationError(f"{name} must be a fraction between 0.01 and 1, not {env.get(name)!r}")
    return value
