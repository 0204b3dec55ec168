"""The sync-log reporter: one start and one close per sync, even when the sync is retried."""

from __future__ import annotations

from ignite_etl.store.database import Database

import asyncio

import pytest

from ignite_etl.sandbox.server import BackgroundServer
from ignite_etl.sandbox.sparklayer.sandbox import SparkLayerSandbox
from ignite_etl.sparklayer.client import SparkLayerClient
from ignite_etl.store import sync_log
from ignite_etl.store.database import connect
from ignite_etl.store.sync_log import SyncError
from ignite_etl.sync.sync_log import MAX_STORED_ERRORS, SyncLogReporter

CONNECTION = "test-shop"


@pytest.fixture
def sparklayer():
    sandbox = SparkLayerSandbox()
    sandbox.add_site("test", "shop", "cid", "secret")
    with BackgroundServer(sandbox.app) as server:
        yield sandbox, server.url + "/test"


def run(database_url, base_url, sync_id, steps):
    async def main():
        async with SparkLayerClient(base_url=base_url, site_id="shop", client_id="cid", client_secret="secret") as client:
            reporter = SyncLogReporter(client, Database(database_url), CONNECTION, sync_id, integration="marketplacer")
            return [await step(reporter) for step in steps]

    return asyncio.run(main())


def sync_log_calls(sandbox, method):
    return [e for e in sandbox.journal() if "sync-log" in e.path and e.method == method]


def test_a_retried_sync_neither_restarts_nor_closes_twice(database_url, sparklayer):
    sandbox, base_url = sparklayer
    run(database_url, base_url, "run-1", [lambda r: r.start("products")])
    # the run crashed here; its retry (same root run id) starts again and closes
    closed = run(database_url, base_url, "run-1", [lambda r: r.start("products"), lambda r: r.finish("products"),
                                                   lambda r: r.finish("products")])

    assert closed == [None, True, False]
    assert len(sync_log_calls(sandbox, "PUT")) == 1
    assert len(sync_log_calls(sandbox, "PATCH")) == 1
    log = sandbox.state("test", "shop")["sync_logs"]["marketplacer/products"]
    assert log["started_full_sync"] and log["last_full_sync"] and log["last_full_sync_succeeded"] is True


def test_a_new_sync_keeps_the_previous_last_full_sync_until_it_finishes(database_url, sparklayer):
    sandbox, base_url = sparklayer
    run(database_url, base_url, "run-1", [lambda r: r.start("products"), lambda r: r.finish("products")])
    first_close = sandbox.state("test", "shop")["sync_logs"]["marketplacer/products"]["last_full_sync"]

    run(database_url, base_url, "run-2", [lambda r: r.start("products")])

    log = sandbox.state("test", "shop")["sync_logs"]["marketplacer/products"]
    assert log["last_full_sync"] == first_close
    assert log["started_full_sync"] > first_close


def test_errors_past_the_log_limit_stay_local_and_the_log_says_how_many_more(database_url, sparklayer):
    sandbox, base_url = sparklayer
    errors = [SyncError(f"variant:{i}", "variant", f"Variant {i} has no SKU.", "Add a SKU in Marketplacer.")
              for i in range(MAX_STORED_ERRORS + 20)]

    async def report_all(reporter):
        await reporter.start("products")
        for start in range(0, len(errors), 1000):
            await reporter.record_and_report("products", errors[start : start + 1000])
        return await reporter.finish("products")

    assert run(database_url, base_url, "run-1", [report_all]) == [True]

    stored = sandbox.state("test", "shop")["sync_logs"]["marketplacer/products"]["errors"]
    assert len(stored) == MAX_STORED_ERRORS
    assert "21 more products problems" in stored["products:more"]["message"]
    with connect(database_url) as conn:
        assert len(sync_log.open_errors(conn, CONNECTION, "products")) == MAX_STORED_ERRORS + 20
