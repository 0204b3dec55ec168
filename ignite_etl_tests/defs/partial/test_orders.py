"""Orders to the Purchasing API on each platform: their webhooks and the periodic pass, through real HTTP and
Dagster; the store driver places and changes the orders."""

from __future__ import annotations

from collections import Counter


def purchase(store, cart_id: str) -> dict:
    (found,) = [p for p in store.store.state()["purchases"].values()
                if p["purchase_identifiers"].get("sparklayer") == cart_id]
    return found


def packages(found: dict) -> Counter:
    """(package type, sku) -> quantity, summed over packages of that type."""
    out: Counter = Counter()
    for package in found["packages"]:
        for item in package["line_items"]:
            out[(package["type"], item["sku"])] += item["quantity"]
    return out


def purchase_puts(store, since: int) -> list:
    return [e for e in store.sparklayer.journal() if e.seq > since and "/purchases/" in e.path and e.method == "PUT"]


def sync_now(store) -> None:
    store.deliver()
    assert store.partial_sync().success


def test_an_order_lifecycle_gives_the_right_packages(each_order_store):
    store = each_order_store
    shop = store.store.driver
    order = shop.place_order("cart-42")
    sku_a, sku_b = order.skus

    sync_now(store)
    placed = purchase(store, "cart-42")
    assert placed["type"] == "order"
    assert placed["currency_code"] == "AUD"
    assert placed["customer"]["email"] == "buyer@example.com"
    assert placed["purchase_identifiers"]["platform"] == order.order_id
    assert packages(placed) == {("processing", sku_a): 2, ("processing", sku_b): 3}

    shop.ship(order, 0, 1)
    sync_now(store)
    shipped = purchase(store, "cart-42")
    assert packages(shipped) == {("processing", sku_a): 1, ("processing", sku_b): 3, ("shipment", sku_a): 1}
    (shipment,) = [p for p in shipped["packages"] if p["type"] == "shipment"]
    assert shipment["tracking_number"]

    shop.refund(order, 0, 1)  # the shipped one, returned
    sync_now(store)
    assert packages(purchase(store, "cart-42")) == {
        ("processing", sku_a): 1, ("processing", sku_b): 3, ("refund", sku_a): 1,
    }

    shop.ship(order, 0, 1)
    sync_now(store)
    assert packages(purchase(store, "cart-42")) == {
        ("processing", sku_b): 3, ("shipment", sku_a): 1, ("refund", sku_a): 1,
    }

    shop.cancel(order, 1, 3)
    sync_now(store)
    final = purchase(store, "cart-42")
    assert packages(final) == {("shipment", sku_a): 1, ("refund", sku_a): 1, ("cancelled", sku_b): 3}
    assert len(store.store.state()["purchases"]) == 1  # the cart became the order and stayed one purchase
    assert set(store.statuses()) == {"done"}
    assert store.store.sync_log("purchases").get("last_partial_sync")

    mark = store.store.journal_mark()
    assert store.orders_pass().success  # the periodic pass finds nothing left to send
    assert purchase_puts(store, mark) == []


def test_an_unchanged_order_is_not_sent_again(each_order_store):
    store = each_order_store
    store.store.driver.place_order("cart-7")
    sync_now(store)
    mark = store.store.journal_mark()

    store.orders_pass()  # sees the same order through its updated-since read
    sync_now(store)

    assert purchase_puts(store, mark) == []


def test_orders_without_a_sparklayer_cart_are_not_sent(each_order_store):
    store = each_order_store
    store.store.driver.place_order(None)
    sync_now(store)
    assert store.store.state()["purchases"] == {}
    assert set(store.statuses()) == {"done"}


def test_a_refused_order_becomes_a_sync_log_error_for_that_order(each_order_store):
    store = each_order_store
    order = store.store.driver.place_order("cart-refused")
    store.sparklayer.reject_record("cart-refused", "This cart was already converted")

    sync_now(store)

    errors = store.store.sync_log_errors("purchases")
    assert len(errors) == 1
    assert errors[0]["external_id"] == f"order:{order.order_id}"
    assert "This cart was already converted" in errors[0]["message"]
    assert order.visible in errors[0]["message"]
    assert set(store.statuses()) == {"done"}  # a refusal is data: the row is settled, not retried

    store.sparklayer.set_faults(rejected_records={})
    store.orders_pass()
    assert purchase(store, "cart-refused")
    assert store.store.sync_log_errors("purchases") == []


def test_the_periodic_pass_sends_orders_no_webhook_announced(each_order_store):
    store = each_order_store
    store.store.driver.place_order("cart-quiet")
    store.store.driver.forget_webhooks()  # the webhooks were lost
    mark = store.store.journal_mark()

    assert store.orders_pass().success

    assert packages(purchase(store, "cart-quiet"))
    assert len(purchase_puts(store, mark)) == 1
    again = store.store.journal_mark()
    store.orders_pass()
    assert purchase_puts(store, again) == []


def test_an_amended_order_is_sent_again_whole(each_order_store):
    store = each_order_store
    order = store.store.driver.place_order("cart-9")
    sku_a, sku_b = order.skus
    sync_now(store)
    mark = store.store.journal_mark()

    extra = store.store.driver.amend(order, {0: 5, 1: 1})  # one line up, one down, and a line added
    sync_now(store)

    assert packages(purchase(store, "cart-9")) == {
        ("processing", sku_a): 5, ("processing", sku_b): 1, ("processing", extra): 1}
    assert len(purchase_puts(store, mark)) == 1
    assert len(store.store.state()["purchases"]) == 1
