"""Resources shared by every asset, sensor and job, wired from the environment with EnvVar.

Per-connection credentials are data: runs load them from the app database by partition key, so
they never travel through run config, tags or the UI.
"""

from __future__ import annotations

from functools import partial

import dagster as dg
from pydantic import PrivateAttr

from ignite_etl.platforms import Platform, platform_for
from ignite_etl.platforms.limits import SharedRateLimits
from ignite_etl.platforms.outbound import OutboundPolicy
from ignite_etl.settings import DEFAULT_PLATFORM_RATE_SHARE, Settings
from ignite_etl.sparklayer.client import SparkLayerClient
from ignite_etl.sparklayer.endpoints import base_url_for
from ignite_etl.sparklayer.token_store import PostgresTokenStore
from ignite_etl.store.cipher import CredentialCipher
from ignite_etl.store.connections import Connection, get_connection, save_platform_secrets
from ignite_etl.store.database import Database, connect
from ignite_etl.sync import full


class AppDatabase(dg.ConfigurableResource):
    """The app database (connections, inbox, queue, sync state) and the key for stored credentials."""

    url: str
    secret_key: str

    _cipher: CredentialCipher | None = PrivateAttr(default=None)

    def connect(self, *, autocommit: bool = False):
        return connect(self.url, autocommit=autocommit)

    @property
    def database(self) -> Database:
        return Database(self.url)

    @property
    def cipher(self) -> CredentialCipher:
        if self._cipher is None:
            self._cipher = CredentialCipher(self.secret_key)
        return self._cipher

    def connection(self, connection_id: str) -> Connection:
        with self.connect() as conn:
            return get_connection(conn, self.cipher, connection_id)


class SyncServices(dg.ConfigurableResource):
    """Builds the platform adapter and the SparkLayer client of one connection."""

    app_db: AppDatabase
    sparklayer_api_url: str = ""
    """Overrides SparkLayer's base URL (SPARKLAYER_API_URL); `{site_env}` is filled in."""
    sparklayer_concurrency: int = 8
    sparklayer_requests_per_second: float = 0.0
    """Our own cap per site (0 = none): keeps us under SparkLayer's limit instead of meeting 429s."""
    platform_page_size: int = 100
    platform_time_scale: float = 1.0
    """Scales the platform client's waits (Retry-After, backoff); the sandbox uses < 1."""
    outbound_policy: str = "public"
    """Which store URLs may be called (`platforms/outbound.py`): public, or loopback for the sandbox."""
    platform_rate_share: float = DEFAULT_PLATFORM_RATE_SHARE
    """The part of each store's published API rate limit our syncs use, all workers together (IGNITE_PLATFORM_RATE_SHARE)."""

    def sparklayer(self, connection: Connection) -> SparkLayerClient:
        credentials = connection.sparklayer_credentials
        return SparkLayerClient(
            base_url=base_url_for(connection.site_env, self.sparklayer_api_url or None),
            site_id=connection.site_id,
            client_id=credentials.get("client_id", ""),
            client_secret=credentials.get("client_secret", ""),
            token_store=PostgresTokenStore(self.app_db.url, connection.id, self.app_db.cipher),
            concurrency=self.sparklayer_concurrency,
            requests_per_second=self.sparklayer_requests_per_second or None,
        )

    def services(self) -> full.Services:
        """What the plain sync steps call."""
        return full.Services(self.app_db.database, self.sparklayer, self.platform)

    def platform(self, connection: Connection) -> Platform:
        return platform_for(
            connection.platform,
            connection.platform_config,
            connection.platform_secrets,
            app_options={"app": Settings.from_env().platform_apps.get(connection.platform, {}),
                         "save_secrets": partial(self._save_platform_secrets, connection)},
            page_size=self.platform_page_size,
            time_scale=self.platform_time_scale,
            outbound=OutboundPolicy.named(self.outbound_policy),
            rate_limits=SharedRateLimits(self.app_db.database, share=self.platform_rate_share,
                                         time_scale=self.platform_time_scale),
        )

    def _save_platform_secrets(self, connection: Connection, fresh: dict[str, str]) -> None:
        """Credentials the platform renewed (a refreshed token), stored at once: the next refresh needs them."""
        with self.app_db.connect() as conn:
            save_platform_secrets(conn, self.app_db.cipher, connection.id, {**connection.platform_secrets, **fresh})


@dg.definitions
def resources() -> dg.Definitions:
    # The database URL (it may hold a password) and the secret key stay EnvVars: Dagster resolves them in the
    # run and shows only their names. The rest comes from Settings, visible in the UI.
    app_db = AppDatabase(url=dg.EnvVar("IGNITE_DATABASE_URL"), secret_key=dg.EnvVar("IGNITE_SECRET_KEY"))
    settings = Settings.from_env()
    return dg.Definitions(
        resources={
            "app_db": app_db,
            "sync_services": SyncServices(app_db=app_db, sparklayer_api_url=settings.sparklayer_api_url or "",
                                          outbound_policy=settings.outbound_policy,
                                          platform_rate_share=settings.platform_rate_share),
        }
    )
