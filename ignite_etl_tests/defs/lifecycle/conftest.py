"""The lifecycle on real parts: the ingress over HTTP, both simulators, Postgres and a Dagster instance whose
"daemon" is this test: it evaluates the sensor and carries out what the tick asked for, in process."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import dagster as dg
import httpx
import pytest

from ignite_etl.defs.io_managers import PostgresFrameIOManager
from ignite_etl.defs.lifecycle import completion, removal
from ignite_etl.defs.lifecycle.resources import LifecycleSettings
from ignite_etl.defs.lifecycle.sensors import RUN_KEY_TAG, connection_lifecycle_sensor
from ignite_etl.defs.partial.jobs import orders_pass
from ignite_etl.defs.resources import AppDatabase
from ignite_etl.defs.sync.jobs import full_sync
from ignite_etl.ingress.app import create_app
from ignite_etl.ingress.config import IngressConfig
from ignite_etl.platforms import register, unregister
from ignite_etl.sandbox.marketplacer.sandbox import DEFAULT_API_KEY, MarketplacerSandbox
from ignite_etl.sandbox.server import BackgroundServer
from ignite_etl.sandbox.sparklayer.sandbox import SparkLayerSandbox
from ignite_etl.store.database import connect
from ignite_etl_tests.defs.sync.conftest import (  # noqa: F401 - CONNECTION_ID is the lifecycle tests' too
    CLIENT_ID,
    CLIENT_SECRET,
    CONNECTION_ID,
    FULL_SYNC_ASSETS,
    SITE_ENV,
    SITE_ID,
    FastSyncServices,
)
from ignite_etl_tests.platforms import fakeshop

INGRESS_TOKEN = "lifecycle-test-token"
DASHBOARD_TOKEN = "lifecycle-dashboard-token"
connection_lifecycle = connection_lifecycle_sensor(30)
SITE_PATH = f"/v1/{SITE_ENV}/{SITE_ID}"
QUEUED_COORDINATOR = {"run_coordinator": {"module": "dagster._core.run_coordinator", "class": "QueuedRunCoordinator"}}


@dataclass
class Tick:
    result: dg.SensorResult

    @property
    def run_keys(self) -> list[str]:
        return [r.run_key for r in self.result.run_requests or []]

    def partitions(self, kind: str) -> list[str]:
        return [key for r in self.result.dynamic_partitions_requests or [] if type(r).__name__.startswith(kind)
                for key in r.partition_keys]


@dataclass
class Lifecycle:
    database_url: str
    instance: dg.DagsterInstance
    definitions: dg.Definitions
    app_db: AppDatabase
    launched: list[dg.ExecuteInProcessResult] = field(default_factory=list)

    def evaluate(self) -> Tick:
        context = dg.build_sensor_context(instance=self.instance, resources={"app_db": self.app_db})
        return Tick(connection_lifecycle(context))

    def apply_partitions(self, tick: Tick) -> None:
        """What the daemon does with a tick's dynamic partition requests, in order."""
        for request in tick.result.dynamic_partitions_requests or []:
            if isinstance(request, dg.AddDynamicPartitionsRequest):
                self.instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
            else:
                for key in request.partition_keys:
                    self.instance.delete_dynamic_partition(request.partitions_def_name, key)

    def launch(self, request: dg.RunRequest) -> dg.ExecuteInProcessResult:
        """Run a requested run to its end, in process, tagged as the daemon would tag it (and with the assets
        it asked for, when it asked for some)."""
        job = self.definitions.resolve_job_def(request.job_name)
        result = job.execute_in_process(
            instance=self.instance, partition_key=request.partition_key, run_config=request.run_config,
            tags={**request.tags, RUN_KEY_TAG: request.run_key}, raise_on_error=False,
            asset_selection=list(request.asset_selection) if request.asset_selection is not None else None,
        )
        self.launched.append(result)
        return result

    def tick(self) -> Tick:
        """One sensor tick carried out completely."""
        tick = self.evaluate()
        self.apply_partitions(tick)
        for request in tick.result.run_requests or []:
            self.launch(request)
        return tick

    def record_run(self, request: dg.RunRequest, status: dg.DagsterRunStatus) -> dg.DagsterRun:
        """A run the daemon launched for `request`, in `status`, without executing it."""
        job = self.definitions.resolve_job_def(request.job_name)
        tags = {**request.tags, RUN_KEY_TAG: request.run_key}
        if request.partition_key:
            tags["dagster/partition"] = request.partition_key
        return self.instance.create_run_for_job(job_def=job, run_config=request.run_config, tags=tags, status=status)

    def inbox(self) -> list[dict]:
        with connect(self.database_url) as conn:
            return list(conn.execute("select * from connection_request order by id"))

    def partitions(self) -> list[str]:
        return list(self.instance.get_dynamic_partitions("connections"))


@dataclass
class Stack:
    lifecycle: Lifecycle
    ingress: httpx.Client
    ingress_url: str
    marketplacer: MarketplacerSandbox
    marketplacer_url: str
    sparklayer: SparkLayerSandbox
    sparklayer_url: str

    def platform_connect_body(self, api_key: str = DEFAULT_API_KEY) -> dict:
        return {"store_id": "bobs", "spark_api_client_id": CLIENT_ID, "spark_api_client_secret": CLIENT_SECRET,
                "extra_config": {"platform": "marketplacer", "marketplacer_api_url": f"{self.marketplacer_url}/graphql",
                                 "marketplacer_api_key": api_key, "currency": "AUD"}}

    def sparklayer_state(self) -> dict:
        return self.sparklayer.state(SITE_ENV, SITE_ID)


class DeferredApp:
    """An ASGI app set after its server took a port: an ingress whose public URL is its own address."""

    app = None

    async def __call__(self, scope, receive, send):
        await self.app(scope, receive, send)


@contextlib.contextmanager
def running_stack(database_url: str, secret_key: str, sparklayer: SparkLayerSandbox,
                  **ingress_options) -> Iterator[Stack]:
    """Both simulators, the ingress (its public URL its own address, SparkLayer's simulated Dashboard API
    calling it back) and the lifecycle's Dagster definitions."""
    marketplacer = MarketplacerSandbox(time_scale=0.001, auto_deliver=False)
    deferred = DeferredApp()
    ingress_server, sl_server = BackgroundServer(deferred), BackgroundServer(sparklayer.app)
    deferred.app = create_app(IngressConfig(
        database_url=database_url, secret_key=secret_key, ingress_token=INGRESS_TOKEN, public_url=ingress_server.url,
        pool_min_size=1, pool_max_size=4, outbound_policy="loopback", dashboard_url=f"{sl_server.url}/dashboard", dashboard_token=DASHBOARD_TOKEN,
        **ingress_options))
    sparklayer.dashboard.configure(token=DASHBOARD_TOKEN, integration_url=ingress_server.url,
                                   integration_token=INGRESS_TOKEN)
    with BackgroundServer(marketplacer.app) as mp_server, sl_server, ingress_server, dg.instance_for_test(overrides=QUEUED_COORDINATOR) as instance, \
            httpx.Client(base_url=ingress_server.url, headers={"Authorization": f"Bearer {INGRESS_TOKEN}"},
                         timeout=30) as client:
        app_db = AppDatabase(url=database_url, secret_key=secret_key)
        resources = {
            "io_manager": PostgresFrameIOManager(url=database_url),
            "app_db": app_db,
            "sync_services": FastSyncServices(app_db=app_db, sparklayer_api_url=sl_server.url + "/{site_env}",
                                              platform_page_size=25, platform_time_scale=0.001),
            "lifecycle_settings": LifecycleSettings(public_url=ingress_server.url, removal_wait_seconds=5),
        }
        definitions = dg.Definitions(
            assets=FULL_SYNC_ASSETS,
            jobs=[full_sync, completion.complete_connection, removal.remove_connection, orders_pass],
            sensors=[connection_lifecycle], resources=resources,
        )
        lifecycle = Lifecycle(database_url, instance, definitions, app_db)
        try:
            yield Stack(lifecycle, client, ingress_server.url, marketplacer, mp_server.url, sparklayer, sl_server.url)
        finally:
            marketplacer.close()


@pytest.fixture
def stack(database_url, secret_key):
    sparklayer = SparkLayerSandbox()
    sparklayer.add_site(SITE_ENV, SITE_ID, CLIENT_ID, CLIENT_SECRET)
    with running_stack(database_url, secret_key, sparklayer) as running:
        yield running


APP = {"client_id": "fakeshop-app", "client_secret": "fakeshop-app-secret"}


@dataclass
class InstallStack:
    stack: Stack
    admin_url: str
    sparklayer: SparkLayerSandbox

    @property
    def lifecycle(self):
        return self.stack.lifecycle

    def rows(self, query: str, params=()) -> list[dict]:
        with connect(self.lifecycle.database_url) as conn:
            return list(conn.execute(query, params))


@pytest.fixture
def install_stack(database_url, secret_key):
    fakeshop.STORES["s1"] = fakeshop.FakeStore(products={
        "p1": ("Kettle", [fakeshop.FakeItem("K-1", "20.00", 5)]),
        "p2": ("Teapot", [fakeshop.FakeItem("T-1", "35.50", 9)]),
    }, currency="NZD")
    fakeshop.STORES["s2"] = fakeshop.FakeStore(products={"p9": ("Mug", [fakeshop.FakeItem("M-1", "4.00", 50)])})
    register(fakeshop.SPEC)
    admin = DeferredApp()
    admin_server = BackgroundServer(admin)
    sparklayer = SparkLayerSandbox()
    apps = {"fakeshop": {**APP, "admin_url": admin_server.url}}
    try:
        with running_stack(database_url, secret_key, sparklayer, platform_apps=apps) as stack:
            admin.app = fakeshop.admin_app(APP["client_id"], APP["client_secret"], stack.ingress_url)
            with admin_server:
                yield InstallStack(stack, admin_server.url, sparklayer)
    finally:
        unregister(fakeshop.NAME)
        fakeshop.STORES.clear()


@pytest.fixture
def lifecycle(stack) -> Lifecycle:
    return stack.lifecycle
