"""A Shopify shop's B2B catalogs: each active catalog's price list becomes a SparkLayer price list of its own,
with every live SKU's price and quantity breaks, kept by the full sync (catalogs fire no webhooks) with the
same minimal writes as the shop's own list."""

from __future__ import annotations

from decimal import Decimal


def pricing(state: dict, slug: str) -> dict[str, list[tuple[int, Decimal]]]:
    return {sku: [(b["quantity"], Decimal(str(b["price"]))) for b in breaks]
            for sku, breaks in state["pricing"].get(slug, {}).items()}


def test_a_catalogs_price_list_is_mirrored_and_kept_with_minimal_writes(shopify_store):
    store = shopify_store
    shop = store.driver.sandbox
    kettle = shop.add_product("Kettle", [{"sku": "K-1", "price": "20.00", "stock": 5},
                                         {"sku": "K-2", "price": "30.00", "stock": 1}])
    shop.add_product("Old kettle", [{"sku": "OLD-1", "price": "9.00", "stock": 0}], status="ARCHIVED")
    k1, k2 = shop.shop.products[kettle].variant_ids
    trade = shop.add_catalog("Trade", decrease_percent=10, fixed={k2: "25.00"}, breaks={k1: [(10, "16.00")]})
    shop.add_catalog("Next season", decrease_percent=50, status="DRAFT")
    slug = f"shopify-price-list-{trade}"

    assert store.sync().success

    state = store.state()
    assert state["price_lists"][slug]["name"] == "Trade" and state["price_lists"][slug]["currency_code"] == "AUD"
    assert [s for s in state["price_lists"] if s.startswith("shopify-price-list-")] == [slug]  # not the draft
    assert pricing(state, slug) == {"K-1": [(1, Decimal("18.00")), (10, Decimal("16.00"))],
                                    "K-2": [(1, Decimal("25.00"))]}
    assert pricing(state, "shopify-price") == {"K-1": [(1, Decimal("20.00"))], "K-2": [(1, Decimal("30.00"))]}

    mark = store.journal_mark()
    assert store.sync().success
    assert store.data_writes(mark) == []  # nothing changed, nothing written

    shop.set_list_price(trade, k2, "24.00")  # the merchant edits the catalog
    mark = store.journal_mark()
    assert store.sync().success
    [write] = store.data_writes(mark)
    assert write.path.endswith(f"/price-lists/{slug}/pricing") and write.item_count == 1
    assert pricing(store.state(), slug)["K-2"] == [(1, Decimal("24.00"))]
