"""The full sync against both simulators as the services are published: whole pages, every advert state,
B2B attributes, stock locations that must exist, and customers whose SparkLayer-only fields survive."""

from __future__ import annotations

from ignite_etl.store.database import connect

from .conftest import CONNECTION_ID, SITE_ENV, SITE_ID
from .test_full_sync import gid, writes_by_kind


def variant_writes(store, since: int) -> list[str]:
    return [e.path.rsplit("/", 1)[-1] for e in store.data_writes(since) if "/product-variants/" in e.path]


def test_an_advert_with_250_variants_syncs_whole_and_losing_one_discontinues_just_that_one(connected_store):
    store = connected_store
    mp = store.marketplacer
    report = mp.generate(3, seed=4, broken_rate=0, b2b_rate=0, large_adverts=1)
    (large,) = report.large_adverts
    variant_ids = list(mp.catalogue.adverts[large].variant_ids)

    assert store.sync().success
    created = store.state()["variants"]
    assert sum(1 for v in variant_ids if created[gid("Variant", v)]["status"] == "live") == 250

    gone = variant_ids[137]
    mp.delete_variant(gone)
    mark = store.journal_mark()
    assert store.sync().success

    after = store.state()["variants"]
    assert after[gid("Variant", gone)]["status"] == "discontinued"
    assert {after[gid("Variant", v)]["status"] for v in variant_ids if v != gone} == {"live"}
    # besides that one, only the variants after it were written: their position moved up by one
    written = {w.replace("%3D", "=") for w in variant_writes(store, mark)}
    assert written == {gid("Variant", v) for v in variant_ids[137:]}
    assert [after[gid("Variant", v)]["position"] for v in variant_ids if v != gone] == list(range(1, 250))


def test_unpublished_deleted_and_offline_adverts_discontinue_their_variants(connected_store):
    store = connected_store
    mp = store.marketplacer
    mp.generate(10, seed=8, broken_rate=0, b2b_rate=0)
    assert store.sync().success
    unpublished, deleted, offline, kept = [a.legacy_id for a in mp.catalogue.adverts.values()][:4]
    title_before = store.state()["products"][gid("Advert", deleted)]["title"]

    mp.set_advert_state(unpublished, "unpublished")
    mp.delete_advert(deleted)  # Marketplacer then names only its variants' ids
    mp.set_advert_state(offline, "offline")
    assert store.sync().success

    state = store.state()
    for advert in (unpublished, deleted, offline):
        statuses = {state["variants"][gid("Variant", v)]["status"] for v in mp.catalogue.adverts[advert].variant_ids}
        assert statuses == {"discontinued"}, advert
    assert {state["variants"][gid("Variant", v)]["status"] for v in mp.catalogue.adverts[kept].variant_ids} == {"live"}
    assert state["products"][gid("Advert", deleted)]["title"] == title_before  # a deleted advert keeps its last title
    stock = {s["sku"]: s["stock_level"] for s in state["stock"]}
    for advert in (unpublished, deleted, offline):
        assert {stock[mp.catalogue.variants[v].sku] for v in mp.catalogue.adverts[advert].variant_ids} == {0}


def test_rrp_settings_and_restock_dates_reach_sparklayer_and_a_bad_value_is_a_sync_log_error(connected_store):
    store = connected_store
    mp = store.marketplacer
    advert = mp.add_advert("Crate", [
        {"sku": "CRATE-1", "price": "10.00", "count_on_hand": 5, "rrp": "14.95",
         "metadata": {"restock_date": "2027-02-01", "min_stock_level": "3", "pack_size": "6"}},
        {"sku": "CRATE-2", "price": "12.00", "count_on_hand": 0,
         "metadata": {"settings": '[{"customer_group": "base", "minimum_order_quantity": 4}]', "restock_date": "soon"}},
    ])
    first, second = mp.catalogue.adverts[advert].variant_ids

    assert store.sync().success

    state = store.state()
    one, two = state["variants"][gid("Variant", first)], state["variants"][gid("Variant", second)]
    assert one["rrp"] == [{"currency_code": "AUD", "price": 14.95}]
    assert one["settings"] == [{"customer_group": "base", "order_increment": 6}]
    assert two["settings"] == [{"customer_group": "base", "minimum_order_quantity": 4}] and "rrp" not in two
    stock = {s["sku"]: s for s in state["stock"]}
    assert (stock["CRATE-1"]["restock_date"], stock["CRATE-1"]["min_stock_level"]) == ("2027-02-01", 3)
    assert "restock_date" not in stock["CRATE-2"] and stock["CRATE-2"]["stock_level"] == 0
    errors = {e["external_id"]: e for e in store.sync_log_errors("products")}
    assert "soon" in errors[f"variant:{second}:restock_date"]["message"]


def test_the_stock_location_is_created_before_stock_and_again_after_the_merchant_deletes_it(connected_store):
    store = connected_store
    mp = store.marketplacer
    mp.generate(4, seed=2, broken_rate=0, b2b_rate=0)
    assert store.state()["stock_locations"] == {}  # a new site has none

    assert store.sync().success

    entries = store.sparklayer.journal(env=SITE_ENV, site_id=SITE_ID)
    first_location = next(e.seq for e in entries if e.path.endswith("/stock-locations"))
    first_stock = next(e.seq for e in entries if e.path.endswith("/batch-update-stock"))
    assert first_location < first_stock
    state = store.state()
    assert state["stock_locations"]["marketplacer"]["name"] == "Marketplacer"
    written = {s["sku"]: s["stock_level"] for s in state["stock"]}

    store.sparklayer.delete_stock_location(SITE_ENV, SITE_ID, "marketplacer")
    mark = store.journal_mark()
    assert store.sync().success

    assert "marketplacer" in store.state()["stock_locations"]
    assert {s["sku"]: s["stock_level"] for s in store.state()["stock"]} == written
    assert writes_by_kind(store.data_writes(since=mark)) == {"stock_items": len(written)}


def test_a_customer_keeps_what_the_merchant_set_in_sparklayer_through_two_syncs(each_store):
    store, shop = each_store, each_store.driver
    shop.generate(5, seed=3)
    ada = shop.add_b2b_customer("ada@example.com", "Ada", "Lovelace")
    assert store.sync().success
    store.sparklayer.edit_customer(SITE_ENV, SITE_ID, ada, group="base", price_lists=["vip"],
                                   sales_agent_groups=["north"], payment_on_account={"credit_limit": 1000.0})
    shop.rename_customer(ada, "Augusta")  # the customer changed their name

    assert store.sync().success
    mark = store.journal_mark()
    assert store.sync().success

    (customer,) = store.state()["customers"].values()
    assert customer["first_name"] == "Augusta"
    assert (customer["group"], customer["price_lists"], customer["sales_agent_groups"]) == ("base", ["vip"], ["north"])
    assert customer["payment_on_account"] == {"credit_limit": 1000.0}
    assert [e for e in store.data_writes(since=mark) if "/customers/" in e.path] == []
    with connect(store.database_url) as conn:
        assert conn.execute("select count(*) as n from sync_error where connection_id = %s and resolved_at is null"
                            " and entity like 'customer%%'", (CONNECTION_ID,)).fetchone()["n"] == 0
