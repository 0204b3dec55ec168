"""A fully synced store whose Marketplacer webhooks reach our ingress over real HTTP, plus helpers
to run the partial sync and read the change queue."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import dagster as dg
import pytest

from ignite_etl.defs.partial.jobs import orders_pass, partial_sync, replay_dead_letters_job
from ignite_etl.defs.partial.resources import ChangeQueuePolicy
from ignite_etl.ingress.app import create_app
from ignite_etl.ingress.config import IngressConfig
from ignite_etl.platforms import platform_for
from ignite_etl.platforms.outbound import SANDBOX
from ignite_etl.sandbox.server import BackgroundServer
from ignite_etl.sparklayer.retry import RetryPolicy
from ignite_etl.store.connections import get_connection, save_webhook_registration
from ignite_etl.store.database import connect
from ignite_etl_tests.defs.sync.conftest import (  # noqa: F401 - fixtures
    CONNECTION_ID,
    ConnectedStore,
    FastSyncServices,
    connected_store,
    each_store,
    shopify_store,
)

MAX_ATTEMPTS = 3


class ImpatientSyncServices(FastSyncServices):
    """Gives up on a rate limit after two short waits, so a test sees the rate-limited failure quickly."""

    def sparklayer(self, connection):
        client = super().sparklayer(connection)
        client._transport.retry = RetryPolicy(max_attempts=6, base_delay=0.01, max_delay=0.05,
                                              max_rate_limit_waits=2, max_retry_after=0.05)
        return client


INGRESS_TOKEN = "partial-sync-tests"


@dataclass
class WebhookStore:
    store: ConnectedStore
    ingress_url: str
    """Our ingress, as SparkLayer calls it (bearer `INGRESS_TOKEN`)."""

    @property
    def marketplacer(self):
        return self.store.marketplacer

    @property
    def sparklayer(self):
        return self.store.sparklayer

    def deliver(self) -> None:
        self.store.driver.deliver_webhooks()

    def partial_sync(self, *, raise_on_error: bool = True) -> dg.ExecuteInProcessResult:
        return partial_sync.execute_in_process(
            instance=self.store.instance, resources=self.store.resources, partition_key=CONNECTION_ID,
            raise_on_error=raise_on_error,
        )

    def orders_pass(self) -> dg.ExecuteInProcessResult:
        return orders_pass.execute_in_process(
            instance=self.store.instance, resources=self.store.resources, partition_key=CONNECTION_ID,
        )

    def replay(self, since: str = "") -> dg.ExecuteInProcessResult:
        return replay_dead_letters_job.execute_in_process(
            instance=self.store.instance, resources=self.store.resources, partition_key=CONNECTION_ID,
            run_config={"ops": {"requeue_dead_letters": {"config": {"since": since}}}},
        )

    def queue(self) -> list[dict]:
        with connect(self.store.database_url) as conn:
            return conn.execute("select * from change_queue order by id").fetchall()

    def statuses(self) -> list[str]:
        return [r["status"] for r in self.queue()]


@contextlib.contextmanager
def _webhooks_to_ingress(store: ConnectedStore, cipher, *, full_sync: bool):
    # No lingering: a test's run ends as soon as the queue is empty (test_partial_sync has one that lingers).
    store.resources["change_queue_policy"] = ChangeQueuePolicy(max_attempts=MAX_ATTEMPTS, base_delay_seconds=0,
                                                                linger_seconds=0)
    fast = store.resources["sync_services"]
    store.resources["sync_services"] = ImpatientSyncServices(
        app_db=fast.app_db, sparklayer_api_url=fast.sparklayer_api_url, platform_page_size=fast.platform_page_size,
        platform_time_scale=fast.platform_time_scale,
    )
    app = create_app(IngressConfig(database_url=store.database_url, secret_key=fast.app_db.secret_key,
                                   ingress_token=INGRESS_TOKEN, pool_min_size=1, pool_max_size=4,
                                   outbound_policy="loopback", platform_apps={store.platform: store.driver.app()}))
    with BackgroundServer(app) as ingress:
        with connect(store.database_url) as conn:
            connection = get_connection(conn, cipher, CONNECTION_ID)
            with platform_for(connection.platform, connection.platform_config, connection.platform_secrets,
                              app_options={"app": store.driver.app()}, outbound=SANDBOX) as platform:
                url = f"{ingress.url}/webhooks/{connection.platform}/{CONNECTION_ID}"
                registration = platform.register_webhooks(url)
            save_webhook_registration(conn, fast.app_db.cipher, CONNECTION_ID, url=url, key=registration.key,
                                      state=registration.state)
        store.driver.generate(8, seed=3)
        if full_sync:
            store.sync()
        store.driver.forget_webhooks()
        yield WebhookStore(store, ingress.url)


@pytest.fixture
def webhook_store(connected_store, cipher):  # noqa: F811
    """Catalogue generated and fully synced; webhooks registered to our ingress and nothing queued yet."""
    with _webhooks_to_ingress(connected_store, cipher, full_sync=True) as store:
        yield store


@pytest.fixture
def each_webhook_store(each_store, cipher):  # noqa: F811
    """`webhook_store` on each platform in turn (its `store.driver` makes the edits)."""
    with _webhooks_to_ingress(each_store, cipher, full_sync=True) as store:
        yield store


@pytest.fixture
def shopify_webhook_store(shopify_store, cipher):  # noqa: F811
    """`webhook_store` on a Shopify shop, for what only Shopify has (its customers)."""
    with _webhooks_to_ingress(shopify_store, cipher, full_sync=True) as store:
        yield store


@pytest.fixture
def order_store(connected_store, cipher):  # noqa: F811
    """Like `webhook_store` without the full sync: orders do not need the catalogue in SparkLayer."""
    with _webhooks_to_ingress(connected_store, cipher, full_sync=False) as store:
        yield store


@pytest.fixture
def each_order_store(each_store, cipher):  # noqa: F811
    """`order_store` on each platform in turn (its `store.driver` places and changes orders)."""
    with _webhooks_to_ingress(each_store, cipher, full_sync=False) as store:
        yield store
