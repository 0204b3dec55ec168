"""Naming and counting SparkLayer requests from the simulator's journal, over real HTTP."""

from __future__ import annotations

import httpx

from ignite_etl.bench.accounting import OperationCounter, kind_of, sparklayer_usage
from ignite_etl.bench.stack import PLATFORM_PAGE_SIZE, SPARKLAYER_CONCURRENCY
from ignite_etl.sandbox.marketplacer.sandbox import DEFAULT_API_KEY, MarketplacerSandbox
from ignite_etl.sandbox.server import BackgroundServer
from ignite_etl.sandbox.sparklayer.sandbox import SparkLayerSandbox
from ignite_etl.sparklayer import models as sl
from ignite_etl.sparklayer.client import SparkLayerClient


def test_every_path_the_simulator_sees_gets_our_endpoint_name():
    assert kind_of("POST", "/test/api/v1/products") == "create_product"
    assert kind_of("PATCH", "/live/api/v1/products/123") == "update_product"
    assert kind_of("PATCH", "/test/api/v1/price-lists/marketplacer-price/pricing") == "update_pricing"
    assert kind_of("PUT", "/test/api/v2/customers/platform/abc%40x") == "upsert_customer"
    assert kind_of("PUT", "/test/api/v1/sync-log/marketplacer/products") == "put_sync_log"
    assert kind_of("GET", "/test/api/v1/products") == "GET /test/api/v1/products"


def test_batch_writes_count_their_items_and_single_writes_count_one():
    sandbox = SparkLayerSandbox()
    sandbox.add_site("test", "s1", "id", "secret")
    with BackgroundServer(sandbox.app) as server:
        client = SparkLayerClient(base_url=server.url + "/test", site_id="s1", client_id="id", client_secret="secret")

        async def write(c: SparkLayerClient):
            await c.create_stock_location(sl.StockLocation(name="Loc", external_id="loc"))
            await c.batch_update_stock([sl.StockLevel(sku=f"S{i}", stock_location_external_id="loc", stock_level=i)
                                        for i in range(5)])
            await c.create_product(sl.Product(external_id="p1", title="P", slug="p",
                                              variants=[sl.Variant(external_id="v1", sku="S0")]))

        client.run(write)
    usage = sparklayer_usage(sandbox.journal(env="test", site_id="s1"))
    assert usage.by_kind == {"token": 1, "create_stock_location": 1, "batch_update_stock": 1, "create_product": 1}
    assert (usage.write_requests, usage.records_written) == (2, 6)  # creating a location changes no data


def test_graphql_requests_are_counted_by_operation_and_still_answered():
    marketplacer = MarketplacerSandbox(auto_deliver=False)
    marketplacer.generate(3)
    counter = OperationCounter(marketplacer.app)
    with BackgroundServer(counter) as server:
        answer = httpx.post(server.url + "/graphql", headers={"marketplacer-api-key": DEFAULT_API_KEY},
                            json={"query": "query Probe { allAdverts(first: 1) { totalCount } }"})
    marketplacer.close()
    assert answer.json()["data"]["allAdverts"]["totalCount"] == 3
    assert counter.counts == {"Probe": 1}


def test_the_baseline_runs_with_the_real_syncs_client_settings():
    from ignite_etl.defs.resources import SyncServices

    fields = SyncServices.model_fields
    assert fields["sparklayer_concurrency"].default == SPARKLAYER_CONCURRENCY
    assert fields["platform_page_size"].default == PLATFORM_PAGE_SIZE
