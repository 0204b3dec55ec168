"""The nightly reconcile against both simulators: what no webhook announced is still caught."""

from __future__ import annotations

import bisect
from datetime import datetime, timezone
from decimal import Decimal

import dagster as dg
import pytest

from ignite_etl.defs.reconcile.schedules import nightly_reconcile_for
from ignite_etl.settings import Settings

nightly_reconcile = nightly_reconcile_for("0 2 * * *", "UTC")
from ignite_etl.errors import ConfigurationError
from ignite_etl.store import load_stats
from ignite_etl.store.connections import save_connection
from ignite_etl.store.database import connect
from ignite_etl_tests.defs.sync.conftest import (  # noqa: F401 - fixture
    CONNECTION_ID,
    FULL_SYNC_ASSETS,
    LOAD_OPS,
    connected_store,
    each_store,
)
from ignite_etl_tests.defs.sync.test_full_sync import gid, materialization_metadata, place_b2b_order

NIGHT = datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc)


def purge_advert(marketplacer, legacy_id: int) -> None:
    """Marketplacer forgets deleted adverts after 30 days: after that, allAdverts never returns them."""
    catalogue = marketplacer.catalogue
    advert = catalogue.advert(legacy_id)
    bisect.insort(catalogue._stale, advert.log_position)
    advert.log_position = -1


def enqueue_webhook(database_url: str, entity_type: str, entity_id: str) -> None:
    """A change row as the webhook ingress writes it."""
    with connect(database_url) as conn:
        conn.execute(
            """
            insert into change_queue (connection_id, entity_type, entity_id, event, idempotency_key, status, processed_at)
            values (%s, %s, %s, 'update', %s, 'done', now())
            """,
            (CONNECTION_ID, entity_type, entity_id, f"{entity_type}-{entity_id}"),
        )


def run_requests(store) -> list[dg.RunRequest]:
    # As a context manager: the context enters an instance of its own (it sets Dagster's current
    # defs-state storage), and only leaving the block puts the previous one back. Left open, every
    # later test in this process would load definitions against a disposed instance's storage.
    with dg.build_schedule_context(
        instance=store.instance, resources={"app_db": store.resources["app_db"]}, scheduled_execution_time=NIGHT
    ) as context:
        result = nightly_reconcile(context)
    return list(result) if isinstance(result, list) else []


def run(store, request: dg.RunRequest) -> dg.ExecuteInProcessResult:
    """What the run queue launches for a request: the full sync job's assets, with the request's tags."""
    return dg.materialize(
        FULL_SYNC_ASSETS,
        partition_key=request.partition_key,
        tags=request.tags,
        instance=store.instance,
        resources=store.resources,
        run_config={"ops": {op: {"config": {"dry_run": False}} for op in LOAD_OPS}},
    )


def test_schedule_requests_one_reconcile_per_connected_store(connected_store, cipher):
    store = connected_store
    with connect(store.database_url) as conn:
        save_connection(conn, cipher, site_env="test", site_id="pending-shop", platform="marketplacer",
                        status="pending", sparklayer_credentials={"client_id": "a", "client_secret": "b"},
                        platform_config={}, platform_secrets={})
    store.instance.add_dynamic_partitions("connections", ["test-pending-shop", "test-removed-shop"])

    requests = run_requests(store)

    assert [(r.partition_key, r.tags) for r in requests] == [
        (CONNECTION_ID, {"ignite/connection": CONNECTION_ID, "ignite/sync_kind": "reconcile"})
    ]
    assert requests[0].run_key == f"reconcile:{CONNECTION_ID}:20261124T0200"
    assert nightly_reconcile.cron_schedule == "0 2 * * *"
    assert nightly_reconcile.execution_timezone == "UTC"
    assert nightly_reconcile.job_name == "full_sync"


def test_schedule_timing_comes_from_the_settings():
    settings = Settings.from_env({"IGNITE_RECONCILE_CRON": "30 3 * * 1-5", "IGNITE_RECONCILE_TIMEZONE": "Australia/Sydney"})
    schedule = nightly_reconcile_for(settings.reconcile_cron, settings.reconcile_timezone)
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("30 3 * * 1-5", "Australia/Sydney")
    defaults = Settings.from_env({})
    assert (defaults.reconcile_cron, defaults.reconcile_timezone) == ("0 2 * * *", "UTC")
    with pytest.raises(ConfigurationError, match="IGNITE_RECONCILE_CRON"):
        Settings.from_env({"IGNITE_RECONCILE_CRON": "every night"})
    with pytest.raises(ConfigurationError, match="IGNITE_RECONCILE_TIMEZONE"):
        Settings.from_env({"IGNITE_RECONCILE_TIMEZONE": "Mars/Olympus"})


def test_reconcile_removes_what_vanished_unannounced_and_reports_drift(connected_store):
    store = connected_store
    mp = store.marketplacer
    mp.generate(12, seed=21, broken_rate=0.0)
    place_b2b_order(mp, "stays@example.com")
    leaving = place_b2b_order(mp, "leaves@example.com")
    first = store.sync()
    assert first.success
    assert "unannounced" not in materialization_metadata(first)["product_changes"]  # nothing to compare with yet
    with connect(store.database_url) as conn:
        first_loads = load_stats.outcomes(conn, CONNECTION_ID, first.run_id)
    assert first_loads and all(r["unannounced"] is None and r["kind"] == "full" for r in first_loads)
    assert len(first_loads) == 4 and all(r["attempted"] == r["succeeded"] > 0 for r in first_loads)
    assert {c["email"] for c in store.state()["customers"].values()} == {"stays@example.com", "leaves@example.com"}
    adverts = [a for a in mp.catalogue.adverts.values() if a.state == "online" and mp.catalogue.live_variants(a)]
    deleted, purged, announced_owner, silent_owner = adverts[:4]
    deleted_variants = mp.catalogue.live_variants(deleted)
    purged_variants = mp.catalogue.live_variants(purged)
    announced = mp.catalogue.live_variants(announced_owner)[0]
    silent = mp.catalogue.live_variants(silent_owner)[0]

    # Nothing below reaches us by webhook (the simulator holds its deliveries), except one price change.
    mp.delete_advert(deleted.legacy_id)
    mp.delete_advert(purged.legacy_id)
    purge_advert(mp, purged.legacy_id)
    mp.set_price(announced.legacy_id, str(Decimal(announced.price) + 1))
    enqueue_webhook(store.database_url, "variant", gid("Variant", announced.legacy_id))
    mp.set_price(silent.legacy_id, str(Decimal(silent.price) + 2))
    for invoice_id in leaving["invoice_ids"]:  # the store erased a buyer's orders (e.g. a privacy request)
        del mp.catalogue.invoices[invoice_id]
    del mp.catalogue.orders[leaving["order_id"]]

    (request,) = run_requests(store)
    result = run(store, request)

    assert result.success
    assert result.dagster_run.tags["ignite/sync_kind"] == "reconcile"
    variants = store.state()["variants"]
    for variant in deleted_variants + purged_variants:
        assert variants[gid("Variant", variant.legacy_id)]["status"] == "discontinued"
    assert variants[gid("Variant", silent.legacy_id)]["status"] == "live"
    assert {c["email"] for c in store.state()["customers"].values()} == {"stays@example.com"}

    shown = materialization_metadata(result)
    # the SKUs the store no longer reports (deleted, or gone for good) drop to no stock
    zeroed_stock = sum(1 for v in deleted_variants + purged_variants if v.count_on_hand != 0)
    assert shown["product_changes"]["discontinued"].value == len(deleted_variants) + len(purged_variants)
    assert shown["product_changes"]["unannounced"].value == len(deleted_variants) + len(purged_variants)
    assert shown["price_changes"]["writes"].value == 2
    assert shown["price_changes"]["unannounced"].value == 1  # the announced price change is not drift
    assert shown["stock_changes"]["unannounced"].value == shown["stock_changes"]["writes"].value == zeroed_stock
    assert shown["sparklayer_products"]["unannounced"].value == len(deleted_variants) + len(purged_variants)
    assert shown["sparklayer_customers"]["deleted"].value == 1
    assert shown["customer_changes"]["unannounced"].value == 1  # no webhook tells of a customer leaving
    with connect(store.database_url) as conn:
        loads = load_stats.outcomes(conn, CONNECTION_ID, result.run_id)
        health = conn.execute("select * from reporting.sync_health where connection_id = %s", (CONNECTION_ID,)).fetchone()
    assert {r["kind"] for r in loads} == {"reconcile"}
    drift = len(deleted_variants) + len(purged_variants) + 1 + zeroed_stock + 1
    assert sum(r["unannounced"] for r in loads) == drift
    assert health["last_reconcile_drift"] == drift
    assert store.sync_log("products")["last_full_sync_succeeded"] is True



def test_reconcile_catches_what_no_webhook_announced_on_each_platform(each_store):
    store, shop = each_store, each_store.driver
    shop.generate(12, seed=22)
    assert store.sync().success
    deleted, announced_owner, silent_owner = list(shop.live().values())[:3]
    announced, silent = announced_owner.variants[0], silent_owner.variants[0]

    # nothing below reaches us by webhook (the simulator holds its deliveries), except one price change
    shop.delete_product(deleted.external_id)
    shop.set_price(announced.external_id, str(announced.price + 1))
    enqueue_webhook(store.database_url, "product", announced_owner.external_id)
    shop.set_price(silent.external_id, str(silent.price + 2))

    (request,) = run_requests(store)
    result = run(store, request)

    assert result.success and result.dagster_run.tags["ignite/sync_kind"] == "reconcile"
    state = store.state()
    assert {state["variants"][v.external_id]["status"] for v in deleted.variants} == {"discontinued"}
    prices = {sku: Decimal(str(breaks[0]["price"])) for sku, breaks in state["pricing"][shop.price_list].items()}
    assert (prices[announced.sku], prices[silent.sku]) == (announced.price + 1, silent.price + 2)
    shown = materialization_metadata(result)
    zeroed_stock = sum(1 for v in deleted.variants for level in v.stock.values() if level != 0)
    assert shown["product_changes"]["unannounced"].value == len(deleted.variants)
    assert (shown["price_changes"]["writes"].value, shown["price_changes"]["unannounced"].value) == (2, 1)
    assert shown["stock_changes"]["unannounced"].value == zeroed_stock
    with connect(store.database_url) as conn:
        health = conn.execute("select * from reporting.sync_health where connection_id = %s", (CONNECTION_ID,)).fetchone()
    assert health["last_reconcile_drift"] == len(deleted.variants) + 1 + zeroed_stock
