"""The full sync end to end, for each platform: its simulator and SparkLayer's over real HTTP, real Postgres, a real
Dagster instance."""

from __future__ import annotations

import base64
from collections import Counter
from decimal import Decimal

from ignite_etl.store.database import connect

from .conftest import CONNECTION_ID


def gid(kind: str, legacy_id: int) -> str:
    """A Marketplacer Relay id, as SparkLayer holds its products and variants."""
    return base64.b64encode(f"{kind}-{legacy_id}".encode()).decode()


def place_b2b_order(marketplacer, email: str = "buyer@example.com") -> dict:
    variant = next(v for v in marketplacer.catalogue.variants.values() if v.sku and v.count_on_hand > 0 and not v.deleted)
    return marketplacer.place_order(
        [{"variant_id": variant.legacy_id, "quantity": 1}],
        buyer={"emailAddress": email, "firstName": "Ada", "surname": "Lovelace", "phone": "0400000000"},
        address={"address": "1 Analytical Way", "city": "Sydney", "postcode": "2000", "countryCode": "AU"},
        sparklayer_cart_id="cart-1",
    )


def materialization_metadata(result) -> dict[str, dict]:
    """What the Dagster UI shows on each asset after the run."""
    return {
        m.asset_key.to_user_string(): m.metadata
        for m in (e.event_specific_data.materialization for e in result.get_asset_materialization_events())
    }


def writes_by_kind(entries) -> Counter:
    kinds = Counter()
    for e in entries:
        if e.method == "POST" and e.path.endswith("/api/v1/products"):
            kinds["product_create"] += 1
        elif e.method == "PATCH" and "/api/v1/products/" in e.path:
            kinds["product_update"] += 1
        elif e.method == "PATCH" and "/product-variants/" in e.path:
            kinds["variant_update"] += 1
        elif "batch-update-stock" in e.path:
            kinds["stock_items"] += e.item_count
        elif e.path.endswith("/pricing"):
            kinds["price_items"] += e.item_count
        elif "/customers/" in e.path:
            kinds["customer_" + e.method.lower()] += 1
        else:
            kinds[f"{e.method} {e.path}"] += 1
    return kinds


def stock_of(product) -> dict[tuple[str, str], int]:
    return {(v.sku, location): level for v in product.variants for location, level in v.stock.items()}


def test_first_sync_leaves_sparklayer_equal_to_the_catalogue(each_store):
    store, shop = each_store, each_store.driver
    shop.generate(30, seed=7)

    result = store.sync()

    assert result.success
    state = store.state()
    expected = shop.live()
    shown = materialization_metadata(result)
    assert shown["platform_products"]["rows_extracted"].value == 30
    assert shown["sparklayer_products"]["created"].value == len(expected)
    assert shown["sparklayer_products"]["failed"].value == 0
    assert shown["sparklayer_products"]["requests"].value >= len(expected)
    assert "| entity |" in shown["sparklayer_products"]["preview"].value
    assert set(state["products"]) == set(expected)
    for product_id, product in expected.items():
        assert state["products"][product_id]["title"] == product.title
        for variant in product.variants:
            sl_variant = state["variants"][variant.external_id]
            assert (sl_variant["sku"], sl_variant["status"]) == (variant.sku, "live")
            assert sl_variant["product_external_id"] == product_id
    stock = {(s["sku"], s["stock_location_external_id"]): s["stock_level"] for s in state["stock"]}
    live_stock = {key: level for p in expected.values() for key, level in stock_of(p).items()}
    assert {key: level for key, level in stock.items() if key in live_stock} == live_stock
    assert {level for key, level in stock.items() if key not in live_stock} <= {0}  # archived or draft: none
    price_list = state["price_lists"][shop.price_list]
    assert (price_list["name"], price_list["currency_code"]) == (f"{shop.platform.title()} Price", "AUD")
    pricing = state["pricing"][shop.price_list]
    assert {sku: [(b["quantity"], Decimal(str(b["price"]))) for b in breaks] for sku, breaks in pricing.items()} == {
        v.sku: [(1, v.price)] for p in expected.values() for v in p.variants
    }
    assert state["settings"].get("baseCurrency") == "AUD"
    log = store.sync_log("products")
    assert log["started_full_sync"] and log["last_full_sync"] and log["last_full_sync_succeeded"] is True
    assert store.sync_log_errors("products") == []


def test_first_sync_brings_the_buyers_of_sparklayer_orders_as_customers(connected_store):
    store = connected_store
    store.marketplacer.generate(5, seed=7, broken_rate=0.0)
    place_b2b_order(store.marketplacer)

    assert store.sync().success

    (customer,) = store.state()["customers"].values()
    assert (customer["email"], customer["first_name"], customer["last_name"]) == ("buyer@example.com", "Ada", "Lovelace")
    weights = {v.sku: v.weight_kg for v in store.marketplacer.catalogue.variants.values() if v.sku}
    for variant in store.state()["variants"].values():
        if weights.get(variant["sku"]) is not None:
            assert variant["weight_in_grams"] == round(weights[variant["sku"]] * 1000)


def test_second_sync_with_nothing_changed_makes_no_writes(each_store):
    store = each_store
    store.driver.generate(25, seed=3)
    assert store.sync().success
    first_writes = len(store.data_writes())
    mark = store.journal_mark()

    result = store.sync()

    assert result.success
    assert first_writes > 0
    assert store.data_writes(since=mark) == []
    loads = materialization_metadata(result)
    assert loads["product_changes"]["writes"].value == 0
    assert loads["product_changes"]["unchanged"].value > 0
    assert store.sync_log("products")["last_full_sync"] is not None


def test_random_changes_make_exactly_the_writes_they_need(each_store):
    store, shop = each_store, each_store.driver
    shop.generate(30, seed=11)
    assert store.sync().success
    products = list(shop.live().values())
    p_price, p_stock, p_title, p_deleted, p_grown = products[:5]
    v_price, v_stock = p_price.variants[0], p_stock.variants[0]
    mark = store.journal_mark()

    shop.set_price(v_price.external_id, str((v_price.price or 0) + 1))
    shop.set_stock(v_stock.external_id, sum(v_stock.stock.values()) + 5)  # at the first location
    shop.set_title(p_title.external_id, "A brand new title")
    shop.delete_product(p_deleted.external_id)
    new_product = shop.add_product("Fresh Socks", [("FRESH-1", "9.50", 3), ("FRESH-2", "11.00", 4)])
    grown_variant = shop.add_variant(p_grown.external_id, "GROWN-1", "20.00", 2)

    assert store.sync().success

    stock_zeroed_by_delete = sum(1 for level in stock_of(p_deleted).values() if level != 0)
    assert writes_by_kind(store.data_writes(since=mark)) == Counter(
        {
            "product_create": 1,  # the new product, with both variants
            "product_update": 2,  # the new title; the new variant added to its product
            "variant_update": len(p_deleted.variants),  # each variant of the deleted product discontinued
            "stock_items": 1 + stock_zeroed_by_delete + 2 + 1,
            "price_items": 1 + 2 + 1,
        }
    )
    state = store.state()
    assert state["products"][p_title.external_id]["title"] == "A brand new title"
    assert {state["variants"][v.external_id]["status"] for v in p_deleted.variants} == {"discontinued"}
    assert new_product in state["products"]
    assert state["variants"][grown_variant]["sku"] == "GROWN-1"


def test_broken_records_become_sync_log_errors_and_fixing_one_resolves_it(each_store):
    store, shop = each_store, each_store.driver
    no_sku = shop.generate(40, seed=5, broken_rate=0.25)
    assert no_sku, "the generator should have made variants without a SKU"

    assert store.sync().success

    errors = store.sync_log_errors("products")
    ids = [e["external_id"] for e in errors]
    assert len(ids) == len(set(ids))
    assert {shop.problem_key(v) for v in no_sku} <= set(ids)
    missing_sku = next(e for e in errors if e["external_id"] == shop.problem_key(no_sku[0]))
    assert "SKU" in missing_sku["message"] and shop.platform.title() in missing_sku["resolution"]
    assert set(store.state()["products"]) == set(shop.live())  # the rest was written

    shop.set_sku(no_sku[0], "FIXED-SKU-1")
    assert store.sync().success

    assert shop.problem_key(no_sku[0]) not in {e["external_id"] for e in store.sync_log_errors("products")}
    assert store.state()["variants"][no_sku[0]]["sku"] == "FIXED-SKU-1"
    with connect(store.database_url) as conn:
        row = conn.execute(
            "select resolved_at from sync_error where connection_id = %s and external_id = %s",
            (CONNECTION_ID, shop.problem_key(no_sku[0])),
        ).fetchone()
    assert row["resolved_at"] is not None


def test_a_record_sparklayer_refuses_is_an_error_and_is_retried_next_sync(each_store):
    store, shop = each_store, each_store.driver
    shop.generate(15, seed=2)
    victim = next(iter(shop.live()))
    store.sparklayer.reject_record(victim, "Title contains a forbidden word")

    assert store.sync().success

    errors = {e["external_id"]: e for e in store.sync_log_errors("products")}
    assert "forbidden word" in errors[f"product:{victim}"]["message"]
    assert victim not in store.state()["products"]
    assert len(store.state()["products"]) == len(shop.live()) - 1

    store.sparklayer.faults.rejected_records.clear()
    mark = store.journal_mark()
    assert store.sync().success
    assert writes_by_kind(store.data_writes(since=mark))["product_create"] == 1
    assert victim in store.state()["products"]
    assert store.sync_log_errors("products") == []


def test_rate_limits_and_a_short_outage_make_the_run_slower_not_wrong(each_store):
    store, shop = each_store, each_store.driver
    shop.generate(30, seed=9)
    store.sparklayer.set_rate_limit(15, window_seconds=0.3)
    store.sparklayer.fail_next(4, status=503)

    assert store.sync().success

    statuses = Counter(e.status for e in store.sparklayer.journal())
    assert statuses[429] > 0 and statuses[503] == 4
    assert set(store.state()["products"]) == set(shop.live())
    creates = [e for e in store.data_writes() if e.method == "POST" and e.path.endswith("/api/v1/products")]
    assert len([e for e in creates if e.status == 201]) == len(shop.live())


def test_dry_run_computes_the_diff_and_writes_nothing(each_store):
    store, shop = each_store, each_store.driver
    shop.generate(10, seed=4)

    result = store.sync(dry_run=True)

    assert result.success
    assert store.data_writes() == []
    assert store.state()["products"] == {}
    with connect(store.database_url) as conn:
        planned = conn.execute(
            "select count(*) as n from diff.product_changes where connection_id = %s and action = 'create'",
            (CONNECTION_ID,),
        ).fetchone()["n"]
    assert planned == len(shop.live())
