"""A connected store on both simulators over real HTTP, the app database, and a real Dagster instance."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import dagster as dg
import pytest

from ignite_etl.defs.io_managers import PostgresFrameIOManager
from ignite_etl.defs.resources import AppDatabase, SyncServices
from ignite_etl.defs.sync import assets as sync_assets
from ignite_etl.sandbox.marketplacer.sandbox import DEFAULT_API_KEY, MarketplacerSandbox
from ignite_etl.sandbox.server import BackgroundServer
from ignite_etl.sandbox.shopify.sandbox import ShopifySandbox
from ignite_etl.sandbox.sparklayer.sandbox import SparkLayerSandbox
from ignite_etl.sparklayer.retry import RetryPolicy
from ignite_etl.store.connections import save_connection
from ignite_etl.store.database import connect
from ignite_etl_tests.stores import MarketplacerDriver, ShopifyDriver, StoreDriver

SITE_ENV, SITE_ID = "test", "bobs-store"
CONNECTION_ID = f"{SITE_ENV}-{SITE_ID}"
CLIENT_ID, CLIENT_SECRET = "bobs-client", "bobs-secret-value"
LOAD_OPS = ("sparklayer_products", "sparklayer_stock", "sparklayer_prices", "sparklayer_customers",
            "sparklayer_settings", "sparklayer_sync_log")
FULL_SYNC_ASSETS = [
    sync_assets.platform_catalogue, sync_assets.platform_customers,
    sync_assets.product_changes, sync_assets.stock_changes, sync_assets.price_changes, sync_assets.customer_changes,
    sync_assets.sparklayer_settings, sync_assets.sparklayer_products, sync_assets.sparklayer_stock,
    sync_assets.sparklayer_prices, sync_assets.sparklayer_customers, sync_assets.sparklayer_sync_log,
]
DATA_PATHS = ("/products", "/product-variants", "/batch-update-stock", "/pricing", "/customers", "/settings",
              "/price-lists")


class FastSyncServices(SyncServices):
    """Real clients with waits scaled down so retries and backoff take milliseconds, calling the simulators
    on loopback."""

    outbound_policy: str = "loopback"

    def sparklayer(self, connection):
        client = super().sparklayer(connection)
        client._transport.retry = RetryPolicy(max_attempts=6, base_delay=0.01, max_delay=0.05)
        return client


@dataclass
class ConnectedStore:
    database_url: str
    marketplacer: MarketplacerSandbox | None
    sparklayer: SparkLayerSandbox
    instance: dg.DagsterInstance
    resources: dict
    driver: StoreDriver | None = None
    platform: str = "marketplacer"

    def sync(self, *, dry_run: bool = False, raise_on_error: bool = True) -> dg.ExecuteInProcessResult:
        return dg.materialize(
            FULL_SYNC_ASSETS,
            partition_key=CONNECTION_ID,
            instance=self.instance,
            resources=self.resources,
            run_config={"ops": {op: {"config": {"dry_run": dry_run}} for op in LOAD_OPS}},
            raise_on_error=raise_on_error,
        )

    def state(self) -> dict:
        return self.sparklayer.state(SITE_ENV, SITE_ID)

    def journal_mark(self) -> int:
        entries = self.sparklayer.journal(env=SITE_ENV, site_id=SITE_ID)
        return entries[-1].seq if entries else 0

    def data_writes(self, since: int = 0) -> list:
        """Requests that change SparkLayer's data (not reads, tokens or the sync log)."""
        return [
            e for e in self.sparklayer.journal(env=SITE_ENV, site_id=SITE_ID)
            if e.seq > since and e.method != "GET" and any(p in e.path for p in DATA_PATHS)
            and "sync-log" not in e.path
        ]

    def sync_log(self, data_type: str) -> dict:
        return self.state()["sync_logs"].get(f"{self.platform}/{data_type}", {})

    def sync_log_errors(self, data_type: str) -> list[dict]:
        return list(self.sync_log(data_type).get("errors", {}).values())


@pytest.fixture
def connected_store(database_url, cipher, secret_key):
    with _connected(database_url, cipher, secret_key, "marketplacer") as store:
        yield store


@pytest.fixture
def shopify_store(database_url, cipher, secret_key):
    """A connected store on the Shopify simulator, for what only Shopify has (B2B catalogs)."""
    with _connected(database_url, cipher, secret_key, "shopify") as store:
        yield store


@pytest.fixture(params=["marketplacer", "shopify"])
def each_store(request, database_url, cipher, secret_key, monkeypatch):
    """A connected store on each platform's simulator in turn; `driver` makes the same edits on either.
    Shopify's full reads run as bulk operations here, however small the store."""
    if request.param == "shopify":
        monkeypatch.setenv("IGNITE_APP_SHOPIFY_BULK_FROM", "1")
    with _connected(database_url, cipher, secret_key, request.param) as store:
        yield store


@contextlib.contextmanager
def _connected(database_url, cipher, secret_key, platform: str):
    marketplacer = MarketplacerSandbox(time_scale=0.001, auto_deliver=False) if platform == "marketplacer" else None
    shopify = ShopifySandbox(time_scale=0.001, auto_deliver=False) if platform == "shopify" else None
    sparklayer = SparkLayerSandbox()
    sparklayer.add_site(SITE_ENV, SITE_ID, CLIENT_ID, CLIENT_SECRET)
    store_app = marketplacer.app if marketplacer else shopify.asgi
    with BackgroundServer(store_app) as mp_server, BackgroundServer(sparklayer.app) as sl_server:
        if marketplacer:
            config, secrets = ({"marketplacer_api_url": f"{mp_server.url}/graphql", "currency": "AUD"},
                               {"marketplacer_api_key": DEFAULT_API_KEY})
            driver: StoreDriver = MarketplacerDriver(marketplacer)
        else:
            config = {"shop": shopify.shop.domain, "admin_url": mp_server.url}
            secrets = {"access_token": shopify.issue_token(expiring=False)["access_token"]}
            driver = ShopifyDriver(shopify)
        with connect(database_url) as conn:
            save_connection(
                conn, cipher, site_env=SITE_ENV, site_id=SITE_ID, platform=platform, status="connected",
                sparklayer_credentials={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
                platform_config=config, platform_secrets=secrets, store_id=shopify.shop.domain if shopify else None,
            )
        app_db = AppDatabase(url=database_url, secret_key=secret_key)
        resources = {
            "io_manager": PostgresFrameIOManager(url=database_url),
            "app_db": app_db,
            "sync_services": FastSyncServices(
                app_db=app_db, sparklayer_api_url=sl_server.url + "/{site_env}", platform_page_size=25,
                platform_time_scale=0.001,
            ),
        }
        try:
            with dg.instance_for_test() as instance:
                instance.add_dynamic_partitions("connections", [CONNECTION_ID])
                yield ConnectedStore(database_url, marketplacer, sparklayer, instance, resources, driver, platform)
        finally:
            (marketplacer or shopify).close()

