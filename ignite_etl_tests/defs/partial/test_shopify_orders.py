"""Orders only Shopify has: one placed elsewhere that the merchant tagged `b2b` and gave the
`sparklayer.order_import` metafield reaches SparkLayer through its webhook, found by its Shopify id; one with
the tag alone does not; and the next orders pass writes nothing."""

from __future__ import annotations

from ignite_etl_tests.defs.sync.conftest import SITE_ENV, SITE_ID

SITE = (SITE_ENV, SITE_ID)


def test_an_imported_order_is_sent_by_its_shopify_id_and_one_without_the_metafield_is_not(shopify_webhook_store):
    env = shopify_webhook_store
    shop = env.store.driver.sandbox
    variant = next(v for v in shop.shop.variants.values() if v.sku)
    imported, [line] = shop.add_order(None, [{"variant_id": variant.id, "quantity": 4}], tags=["b2b"],
                                      metafields={"order_import": ("boolean", "true")})
    tagged_only, _ = shop.add_order(None, [{"variant_id": variant.id, "quantity": 1}], tags=["b2b"])

    env.deliver()
    assert env.partial_sync().success

    purchases = list(env.sparklayer.state(*SITE)["purchases"].values())
    [sent] = purchases
    identifiers = sent["purchase_identifiers"]  # SparkLayer gives it its own id; we sent none
    assert (identifiers["platform"], identifiers["visible"]) == (str(imported), shop.shop.orders[imported].name)
    assert [e.path for e in env.sparklayer.journal() if "/purchases/" in e.path] == [
        f"/{SITE_ENV}/api/v1/purchases/platform/{imported}"]
    assert [(p["type"], i["sku"], i["quantity"]) for p in sent["packages"] for i in p["line_items"]] == [
        ("processing", variant.sku, 4)]
    assert str(tagged_only) not in {p["purchase_identifiers"]["platform"] for p in purchases}

    shop.fulfill(imported, {line: 4}, company="UPS", number="1Z1")  # the same purchase, sent again whole
    env.deliver()
    assert env.partial_sync().success
    [sent] = env.sparklayer.state(*SITE)["purchases"].values()
    assert [p["type"] for p in sent["packages"]] == ["shipment"]

    mark = env.store.journal_mark()
    assert env.orders_pass().success
    assert env.store.data_writes(mark) == []
