"""The full sync end to end: both simulators over real HTTP, real Postgres, a real Dagster instance."""

from __future__ import annotations

import base64
from collections import Counter
from decimal import Decimal

from ignite_etl.store.database import connect

from .conftest import CONNECTION_ID


def gid(kind: str, legacy_id: int) -> str:
    return base64.b64encode(f"{kind}-{legacy_id}".encode()).decode()


def live_catalogue(marketplacer) -> dict[str, dict]:
    """What SparkLayer should hold, read straight from the simulator's records (not through our mapping)."""
    catalogue = marketplacer.catalogue
    out = {}
    for advert in catalogue.adverts.values():
        if advert.state != "online":
            continue
        variants = [v for v in catalogue.live_variants(advert) if v.sku]
        if variants:
            out[gid("Advert", advert.legacy_id)] = {"title": advert.title, "variants": variants}
    return out


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


def test_first_sync_leaves_sparklayer_equal_to_the_catalogue(connected_store):
    store = connected_store
    store.marketplacer.generate(30, seed=7, broken_rate=0.0)
    place_b2b_order(store.marketplacer)

    result = store.sync()

    assert result.success
    state = store.state()
    expected = live_catalogue(store.marketplacer)
    shown = materialization_metadata(result)
    assert shown["platform_products"]["rows_extracted"].value == 30
    assert shown["sparklayer_products"]["created"].value == len(expected)
    assert shown["sparklayer_products"]["failed"].value == 0
    assert shown["sparklayer_products"]["requests"].value >= len(expected)
    assert "| entity |" in shown["sparklayer_products"]["preview"].value
    assert set(state["products"]) == set(expected)
    for product_id, product in expected.items():
        assert state["products"][product_id]["title"] == product["title"]
        for position, variant in enumerate(product["variants"]):
            sl_variant = state["variants"][gid("Variant", variant.legacy_id)]
            assert sl_variant["sku"] == variant.sku
            assert sl_variant["status"] == "live"
            assert sl_variant["product_external_id"] == product_id
            if variant.weight_kg is not None:
                assert sl_variant["weight_in_grams"] == round(variant.weight_kg * 1000)
    skus = {v.sku: v for p in expected.values() for v in p["variants"]}
    stock = {(s["sku"], s["stock_location_external_id"]): s["stock_level"] for s in state["stock"]}
    assert stock == {(sku, "marketplacer"): v.count_on_hand for sku, v in skus.items()}
    assert state["price_lists"]["marketplacer-price"]["name"] == "Marketplacer Price"
    assert state["price_lists"]["marketplacer-price"]["currency_code"] == "AUD"
    pricing = state["pricing"]["marketplacer-price"]
    assert {sku: [(b["quantity"], Decimal(str(b["price"]))) for b in breaks] for sku, breaks in pricing.items()} == {
        sku: [(1, Decimal(v.price))] for sku, v in skus.items()
    }
    assert state["settings"].get("baseCurrency") == "AUD"
    (customer,) = state["customers"].values()
    assert (customer["email"], customer["first_name"], customer["last_name"]) == ("buyer@example.com", "Ada", "Lovelace")
    log = store.sync_log("products")
    assert log["started_full_sync"] and log["last_full_sync"] and log["last_full_sync_succeeded"] is True
    assert store.sync_log_errors("products") == []


def test_second_sync_with_nothing_changed_makes_no_writes(connected_store):
    store = connected_store
    store.marketplacer.generate(25, seed=3, broken_rate=0.0)
    place_b2b_order(store.marketplacer)
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


def test_random_changes_make_exactly_the_writes_they_need(connected_store):
    store = connected_store
    mp = store.marketplacer
    mp.generate(30, seed=11, broken_rate=0.0)
    assert store.sync().success
    adverts = [a for a in mp.catalogue.adverts.values() if a.state == "online"]
    a_price, a_stock, a_title, a_deleted, a_grown = adverts[:5]
    v_price = mp.catalogue.live_variants(a_price)[0]
    v_stock = mp.catalogue.live_variants(a_stock)[0]
    deleted_variants = mp.catalogue.live_variants(a_deleted)
    mark = store.journal_mark()

    mp.set_price(v_price.legacy_id, str(Decimal(v_price.price) + 1))
    mp.set_stock(v_stock.legacy_id, v_stock.count_on_hand + 5)
    mp.set_title(a_title.legacy_id, "A brand new title")
    mp.delete_advert(a_deleted.legacy_id)
    new_advert = mp.add_advert("Fresh Socks", [{"sku": "FRESH-1", "price": "9.50", "count_on_hand": 3},
                                               {"sku": "FRESH-2", "price": "11.00", "count_on_hand": 4}])
    grown_variant = mp.add_variant(a_grown.legacy_id, sku="GROWN-1", price="20.00", count_on_hand=2)

    assert store.sync().success

    stock_changed_by_delete = sum(1 for v in deleted_variants if v.count_on_hand != 0)
    assert writes_by_kind(store.data_writes(since=mark)) == Counter(
        {
            "product_create": 1,  # the new advert, with both variants
            "product_update": 2,  # the new title; the new variant added to its product
            "variant_update": len(deleted_variants),  # each variant of the deleted advert discontinued
            "stock_items": 1 + stock_changed_by_delete + 2 + 1,
            "price_items": 1 + 2 + 1,
        }
    )
    state = store.state()
    assert state["products"][gid("Advert", a_title.legacy_id)]["title"] == "A brand new title"
    assert {state["variants"][gid("Variant", v.legacy_id)]["status"] for v in deleted_variants} == {"discontinued"}
    assert gid("Advert", new_advert) in state["products"]
    assert state["variants"][gid("Variant", grown_variant)]["sku"] == "GROWN-1"


def test_broken_records_become_sync_log_errors_and_fixing_one_resolves_it(connected_store):
    store = connected_store
    mp = store.marketplacer
    report = mp.generate(40, seed=5, broken_rate=0.25)
    no_sku = report.broken["variant_without_sku"]
    assert no_sku, f"the generator should have made variants without a SKU: {report.broken}"

    assert store.sync().success

    errors = store.sync_log_errors("products")
    ids = [e["external_id"] for e in errors]
    assert len(ids) == len(set(ids))
    assert {f"variant:{legacy}" for legacy in no_sku} <= set(ids)
    missing_sku = next(e for e in errors if e["external_id"] == f"variant:{no_sku[0]}")
    assert "SKU" in missing_sku["message"] and "Marketplacer" in missing_sku["resolution"]
    assert set(store.state()["products"]) == set(live_catalogue(mp))  # the rest was written

    mp.update_variant(no_sku[0], sku="FIXED-SKU-1")
    assert store.sync().success

    assert f"variant:{no_sku[0]}" not in {e["external_id"] for e in store.sync_log_errors("products")}
    assert store.state()["variants"][gid("Variant", no_sku[0])]["sku"] == "FIXED-SKU-1"
    with connect(store.database_url) as conn:
        row = conn.execute(
            "select resolved_at from sync_error where connection_id = %s and external_id = %s",
            (CONNECTION_ID, f"variant:{no_sku[0]}"),
        ).fetchone()
    assert row["resolved_at"] is not None


def test_a_record_sparklayer_refuses_is_an_error_and_is_retried_next_sync(connected_store):
    store = connected_store
    store.marketplacer.generate(15, seed=2, broken_rate=0.0)
    victim = next(iter(live_catalogue(store.marketplacer)))
    store.sparklayer.reject_record(victim, "Title contains a forbidden word")

    assert store.sync().success

    errors = {e["external_id"]: e for e in store.sync_log_errors("products")}
    assert "forbidden word" in errors[f"product:{victim}"]["message"]
    assert victim not in store.state()["products"]
    assert len(store.state()["products"]) == len(live_catalogue(store.marketplacer)) - 1

    store.sparklayer.faults.rejected_records.clear()
    mark = store.journal_mark()
    assert store.sync().success
    assert writes_by_kind(store.data_writes(since=mark))["product_create"] == 1
    assert victim in store.state()["products"]
    assert store.sync_log_errors("products") == []


def test_rate_limits_and_a_short_outage_make_the_run_slower_not_wrong(connected_store):
    store = connected_store
    store.marketplacer.generate(30, seed=9, broken_rate=0.0)
    store.sparklayer.set_rate_limit(15, window_seconds=0.3)
    store.sparklayer.fail_next(4, status=503)

    assert store.sync().success

    statuses = Counter(e.status for e in store.sparklayer.journal())
    assert statuses[429] > 0 and statuses[503] == 4
    assert set(store.state()["products"]) == set(live_catalogue(store.marketplacer))
    creates = [e for e in store.data_writes() if e.method == "POST" and e.path.endswith("/api/v1/products")]
    assert len([e for e in creates if e.status == 201]) == len(live_catalogue(store.marketplacer))


def test_dry_run_computes_the_diff_and_writes_nothing(connected_store):
    store = connected_store
    store.marketplacer.generate(10, seed=4, broken_rate=0.0)

    result = store.sync(dry_run=True)

    assert result.success
    assert store.data_writes() == []
    assert store.state()["products"] == {}
    with connect(store.database_url) as conn:
        planned = conn.execute(
            "select count(*) as n from diff.product_changes where connection_id = %s and action = 'create'",
            (CONNECTION_ID,),
        ).fetchone()["n"]
    assert planned == len(live_catalogue(store.marketplacer))
