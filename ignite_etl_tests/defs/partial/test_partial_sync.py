"""Webhook -> change queue -> partial_sync -> SparkLayer, end to end over real HTTP, Postgres and Dagster."""

from __future__ import annotations

import base64
import time
from collections import Counter
from decimal import Decimal
from types import SimpleNamespace

import psycopg
import pytest

from ignite_etl.defs.partial.resources import ChangeQueuePolicy
from ignite_etl.store.database import connect
from ignite_etl.sync import partial

from .conftest import CONNECTION_ID, MAX_ATTEMPTS


def gid(kind: str, legacy_id: int) -> str:
    return base64.b64encode(f"{kind}-{legacy_id}".encode()).decode()


def live_variants(marketplacer, count: int):
    catalogue = marketplacer.catalogue
    variants = [v for v in catalogue.variants.values()
                if v.sku and not v.deleted and catalogue.adverts[v.advert_id].state == "online"]
    return variants[:count]


def stock_of(state) -> dict[str, int]:
    return {s["sku"]: s["stock_level"] for s in state["stock"]}


def prices_of(state) -> dict[str, Decimal]:
    return {sku: Decimal(str(breaks[0]["price"])) for sku, breaks in state["pricing"]["marketplacer-price"].items()}


def successful_writes(store, since: int) -> Counter:
    """Accepted data writes per (method, path): the same path twice means a record was written twice."""
    return Counter((e.method, e.path) for e in store.store.data_writes(since) if 200 <= e.status < 300)


def stock_at(state) -> dict[tuple[str, str], int]:
    return {(s["sku"], s["stock_location_external_id"]): s["stock_level"] for s in state["stock"]}


def test_a_signed_webhook_becomes_exactly_one_sparklayer_write(each_webhook_store):
    store, shop = each_webhook_store, each_webhook_store.store.driver
    variant = next(iter(shop.live().values())).variants[0]
    mark = store.store.journal_mark()

    location = shop.set_stock(variant.external_id, 55)
    store.deliver()
    queued = store.queue()
    result = store.partial_sync()

    assert result.success
    assert queued and {r["status"] for r in queued} == {"pending"}
    writes = store.store.data_writes(mark)
    assert [(w.method, w.path.rsplit("/", 1)[-1], w.item_count) for w in writes] == [
        ("POST", "batch-update-stock", 1)
    ]
    assert stock_at(store.store.state())[(variant.sku, location)] == 55
    assert set(store.statuses()) == {"done"}
    assert store.store.sync_log("products").get("last_partial_sync")
    assert store.store.sync_log("stock").get("last_partial_sync")

    again = store.store.journal_mark()
    store.partial_sync()
    assert store.store.data_writes(again) == []


def test_a_product_edit_webhook_writes_that_product_only(each_webhook_store):
    store, shop = each_webhook_store, each_webhook_store.store.driver
    edited, untouched = list(shop.live())[:2]
    mark = store.store.journal_mark()

    shop.set_title(edited, "Renamed by the merchant")
    store.deliver()
    store.partial_sync()

    writes = store.store.data_writes(mark)
    assert [(w.method, w.path.rsplit("/", 1)[-1]) for w in writes] == [("PATCH", edited)]
    state = store.store.state()
    assert state["products"][edited]["title"] == "Renamed by the merchant"
    assert state["products"][untouched]["title"] == shop.live()[untouched].title


def test_a_lingering_run_writes_the_changes_that_arrive_while_it_waits(webhook_store, monkeypatch):
    store = webhook_store
    store.store.resources["change_queue_policy"] = ChangeQueuePolicy(max_attempts=MAX_ATTEMPTS, base_delay_seconds=0,
                                                                      linger_seconds=5)
    (variant,) = live_variants(store.marketplacer, 1)
    waits = []

    def sleep(seconds):  # the run found its queue empty and waits: the store changes now
        if not waits:
            store.marketplacer.set_stock(variant.legacy_id, variant.count_on_hand + 9)
            store.deliver()
        waits.append(seconds)
        time.sleep(seconds)

    monkeypatch.setattr(partial, "time", SimpleNamespace(monotonic=time.monotonic, sleep=sleep))
    result = store.partial_sync()

    assert result.success and waits
    assert stock_of(store.store.state())[variant.sku] == variant.count_on_hand
    assert store.statuses() == ["done", "done"]  # written by this run, not left for the next one


def test_duplicate_and_out_of_order_deliveries_converge_to_the_latest_state(webhook_store):
    store = webhook_store
    store.marketplacer.set_webhook_chaos(duplicate_rate=0.7, out_of_order=True)
    first, second = live_variants(store.marketplacer, 2)
    advert_id = first.advert_id
    mark = store.store.journal_mark()

    for price in ("10.00", "11.00", "12.50"):
        store.marketplacer.set_price(first.legacy_id, price)
    for title in ("Old", "Newer", "Newest"):
        store.marketplacer.set_title(advert_id, title)
    store.marketplacer.set_stock(second.legacy_id, 3)
    store.marketplacer.set_stock(second.legacy_id, 9)
    store.deliver()
    deliveries = store.marketplacer.webhooks.deliveries
    assert len(deliveries) > len({d.event_id for d in deliveries})  # some were delivered twice
    assert len(store.queue()) == len({d.event_id for d in deliveries})  # each event queued once

    store.partial_sync()

    state = store.store.state()
    assert prices_of(state)[first.sku] == Decimal("12.50")
    assert state["products"][gid("Advert", advert_id)]["title"] == "Newest"
    assert stock_of(state)[second.sku] == 9
    writes = successful_writes(store, mark)
    assert all(count == 1 for count in writes.values()), writes
    assert set(store.statuses()) == {"done"}


def test_a_sparklayer_outage_mid_burst_loses_nothing_and_writes_nothing_twice(each_webhook_store):
    store, shop = each_webhook_store, each_webhook_store.store.driver
    variants = [p.variants[0] for p in shop.live().values()][:6]
    mark = store.store.journal_mark()
    where = {}

    for n, v in enumerate(variants[:3]):
        where[v.sku] = shop.set_stock(v.external_id, 100 + n)
    store.deliver()
    store.partial_sync()
    assert set(store.statuses()) == {"done"}

    store.sparklayer.start_outage(3600)
    for n, v in enumerate(variants[3:], start=3):
        where[v.sku] = shop.set_stock(v.external_id, 100 + n)
    store.deliver()
    during = store.partial_sync()
    assert during.success  # the run records the failure on the rows, it does not lose them
    pending = [r for r in store.queue() if r["status"] == "pending"]
    assert pending and all(r["attempts"] == 1 and "503" in (r["last_error"] or "") for r in pending)

    store.sparklayer.set_faults(outage_until=None)
    store.partial_sync()

    assert set(store.statuses()) == {"done"}
    stock = stock_at(store.store.state())
    assert {v.sku: stock[(v.sku, where[v.sku])] for v in variants} == {v.sku: 100 + n for n, v in enumerate(variants)}
    accepted = [e for e in store.store.data_writes(mark) if 200 <= e.status < 300]
    assert [(e.path.rsplit("/", 1)[-1], e.item_count) for e in accepted] == [
        ("batch-update-stock", 3), ("batch-update-stock", 3)  # each SKU accepted exactly once
    ]


def test_dead_letters_after_the_attempts_run_out_and_replay_brings_them_back(webhook_store):
    store = webhook_store
    (variant,) = live_variants(store.marketplacer, 1)
    store.sparklayer.start_outage(3600)
    store.marketplacer.set_price(variant.legacy_id, "77.70")
    store.deliver()

    for _ in range(MAX_ATTEMPTS):
        store.partial_sync()
    rows = store.queue()
    assert {r["status"] for r in rows} == {"dead"}
    assert all(r["attempts"] == MAX_ATTEMPTS for r in rows)
    store.sparklayer.set_faults(outage_until=None)
    store.partial_sync()
    assert {r["status"] for r in store.queue()} == {"dead"}  # dead letters are not retried by themselves
    assert prices_of(store.store.state())[variant.sku] != Decimal("77.70")

    replayed = store.replay()
    assert replayed.success
    assert {(r["status"], r["attempts"]) for r in store.queue()} == {("pending", 0)}
    store.partial_sync()

    assert {r["status"] for r in store.queue()} == {"done"}
    assert prices_of(store.store.state())[variant.sku] == Decimal("77.70")


def test_a_rate_limit_reschedules_without_using_up_attempts(webhook_store):
    store = webhook_store
    (variant,) = live_variants(store.marketplacer, 1)
    store.marketplacer.set_stock(variant.legacy_id, 4242)
    store.deliver()
    store.sparklayer.fail_next(1000, status=429)

    store.partial_sync()
    store.partial_sync()

    rows = store.queue()
    assert {(r["status"], r["attempts"]) for r in rows} == {("pending", 0)}
    assert all("rate-limiting" in (r["last_error"] or "") for r in rows)
    store.sparklayer.set_faults(fail_next=0)
    with connect(store.store.database_url) as conn:
        conn.execute("update change_queue set not_before = now()")  # the wait has passed
    store.partial_sync()
    assert {r["status"] for r in store.queue()} == {"done"}
    assert stock_of(store.store.state())[variant.sku] == 4242


def test_a_crash_between_the_write_and_marking_the_rows_done_is_harmless(webhook_store):
    store = webhook_store
    (variant,) = live_variants(store.marketplacer, 1)
    advert_id = variant.advert_id
    mark = store.store.journal_mark()
    store.marketplacer.set_title(advert_id, "Written before the crash")
    store.deliver()
    with connect(store.store.database_url) as conn:
        # The transaction that advances the state and settles the rows fails after SparkLayer accepted.
        conn.execute("""
            create function crash_on_done() returns trigger language plpgsql as
            $$ begin raise exception 'simulated crash before commit'; end $$;
            create trigger crash_on_done before update on change_queue
            for each row when (new.status = 'done') execute function crash_on_done();
        """)

    crashed = store.partial_sync(raise_on_error=False)

    assert not crashed.success
    assert store.store.state()["products"][gid("Advert", advert_id)]["title"] == "Written before the crash"
    assert set(store.statuses()) == {"pending"}
    with connect(store.store.database_url) as conn:
        conn.execute("drop trigger crash_on_done on change_queue; drop function crash_on_done()")

    store.partial_sync()

    assert set(store.statuses()) == {"done"}
    state = store.store.state()
    assert state["products"][gid("Advert", advert_id)]["title"] == "Written before the crash"
    assert len(state["products"]) == len({p["external_id"] for p in state["products"].values()})
    updates = [w for w in store.store.data_writes(mark) if w.method == "PATCH"]
    assert len(updates) == 2  # the same idempotent update, once before and once after the crash
    assert len({w.path for w in updates}) == 1
    mark = store.store.journal_mark()
    store.partial_sync()
    assert store.store.data_writes(mark) == []


def test_rows_of_a_removed_connection_are_not_processed(webhook_store):
    store = webhook_store
    (variant,) = live_variants(store.marketplacer, 1)
    store.marketplacer.set_stock(variant.legacy_id, 1)
    store.deliver()
    assert store.queue()
    mark = store.store.journal_mark()
    with connect(store.store.database_url) as conn:
        conn.execute("delete from connection where id = %s", (CONNECTION_ID,))

    result = store.partial_sync()

    assert result.success
    assert set(store.statuses()) == {"pending"}
    assert store.store.data_writes(mark) == []


def a_refused_price(store):
    """A price change SparkLayer refuses, synced: one sync-log error; returns the variant."""
    (variant,) = live_variants(store.marketplacer, 1)
    store.sparklayer.reject_record(variant.sku, "SKU is blocked")
    store.marketplacer.set_price(variant.legacy_id, "5.55")
    store.deliver()
    store.partial_sync()
    return variant


def test_a_refused_record_becomes_a_sync_log_error_and_is_resolved_when_accepted(webhook_store):
    store = webhook_store
    variant = a_refused_price(store)

    errors = store.store.sync_log_errors("products")
    assert [e["external_id"] for e in errors] == [f"price:{variant.sku}"]
    assert set(store.statuses()) == {"done"}  # a refused record is data, not a retry

    store.sparklayer.set_faults(rejected_records={})
    store.marketplacer.set_price(variant.legacy_id, "5.56")
    store.deliver()
    store.partial_sync()
    assert store.store.sync_log_errors("products") == []
    assert prices_of(store.store.state())[variant.sku] == Decimal("5.56")
    with connect(store.store.database_url) as conn:  # what sync_health's write success rate counts
        loads = conn.execute(
            "select kind, data_type, attempted, succeeded from load_outcome where kind = 'partial' order by id").fetchall()
    assert loads == [{"kind": "partial", "data_type": "products", "attempted": 1, "succeeded": 0},
                     {"kind": "partial", "data_type": "products", "attempted": 1, "succeeded": 1}]


def test_a_stock_change_to_a_site_without_the_location_creates_it_first(webhook_store):
    store = webhook_store
    (variant,) = live_variants(store.marketplacer, 1)
    store.sparklayer.delete_stock_location("test", "bobs-store", "marketplacer")  # the merchant, in the dashboard
    mark = store.store.journal_mark()

    store.marketplacer.set_stock(variant.legacy_id, variant.count_on_hand + 3)
    store.deliver()
    assert store.partial_sync().success

    state = store.store.state()
    assert "marketplacer" in state["stock_locations"]
    assert stock_of(state)[variant.sku] == variant.count_on_hand
    posts = [e.path.rsplit("/", 1)[-1] for e in store.sparklayer.journal() if e.seq > mark and e.method == "POST"]
    assert posts.index("stock-locations") < posts.index("batch-update-stock")
    assert store.statuses() == ["done", "done"]


def test_a_closing_sync_log_patch_that_fails_after_the_rows_settled_is_sent_by_the_next_run(webhook_store):
    store = webhook_store
    variant = a_refused_price(store)
    assert [e["external_id"] for e in store.store.sync_log_errors("products")] == [f"price:{variant.sku}"]
    closed_at = store.store.sync_log("products")["last_partial_sync"]

    store.sparklayer.set_faults(rejected_records={})
    store.marketplacer.set_price(variant.legacy_id, "5.56")
    store.deliver()
    store.sparklayer.fail_next(100, path_contains="sync-log")  # SparkLayer's sync log is down for the close
    store.partial_sync(raise_on_error=False)
    store.sparklayer.set_faults(fail_next=0)

    assert set(store.statuses()) == {"done"}  # the price was written and its rows settled
    assert prices_of(store.store.state())[variant.sku] == Decimal("5.56")
    assert [e["external_id"] for e in store.store.sync_log_errors("products")] == [f"price:{variant.sku}"]
    with connect(store.store.database_url) as conn:
        owed = {r["data_type"] for r in conn.execute("select data_type from sync_log_pending_close")}
    assert "products" in owed

    store.partial_sync()  # nothing queued: the run sends what it owes

    assert store.store.sync_log_errors("products") == []
    assert store.store.sync_log("products")["last_partial_sync"] > closed_at
    with connect(store.store.database_url) as conn:
        assert conn.execute("select count(*) as n from sync_log_pending_close").fetchone()["n"] == 0
        assert conn.execute("select count(*) as n from sync_error where resolved_at is null").fetchone()["n"] == 0
