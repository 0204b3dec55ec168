"""A SparkLayer sandbox on real HTTP with one registered site, a shared manual clock, and a client
factory pointed at it with millisecond backoff."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ignite_etl.sandbox.server import BackgroundServer
from ignite_etl.sandbox.sparklayer import SparkLayerSandbox
from ignite_etl.sparklayer import InMemoryTokenStore, RetryPolicy, SparkLayerClient

SITE = "bobs-store"
CLIENT_ID = "client-bob"
CLIENT_SECRET = "s3cret-client-secret-value"


class ManualClock:
    """A clock tests move by hand, shared by the client and the sandbox."""

    def __init__(self):
        self.now = datetime(2025, 1, 1, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sandbox(clock) -> SparkLayerSandbox:
    sandbox = SparkLayerSandbox(clock=clock)
    sandbox.add_site("test", SITE, CLIENT_ID, CLIENT_SECRET, customer_groups=["trade"])
    return sandbox


@pytest.fixture
def server(sandbox):
    with BackgroundServer(sandbox.app) as server:
        yield server


@pytest.fixture
def token_store() -> InMemoryTokenStore:
    return InMemoryTokenStore()


@pytest.fixture
def make_client(server, clock, token_store):
    def make(**overrides) -> SparkLayerClient:
        options = dict(
            base_url=f"{server.url}/test",
            site_id=SITE,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            token_store=token_store,
            retry=RetryPolicy(max_attempts=4, base_delay=0.002, max_delay=0.01),
            clock=clock,
        )
        options.update(overrides)
        return SparkLayerClient(**options)

    return make


@pytest.fixture
def locations(make_client):
    """The stock locations the stock tests write to (a new site has none until they are created)."""
    from ignite_etl.sparklayer.models import StockLocation

    async def create(client):
        for external_id in ("default", "warehouse"):
            await client.create_stock_location(StockLocation(name=external_id.title(), external_id=external_id))

    make_client().run(create)
