"""Orders as purchases: golden cases for the package lifecycle (no I/O)."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from ignite_etl.model import Cancellation, Customer, Order, OrderLine, PackageItem, Refund, Shipment
from ignite_etl.sync.orders import PurchaseNotSendable, purchase_for

PLACED = datetime(2026, 11, 1, tzinfo=timezone.utc)
SHIPPED = datetime(2026, 11, 2, tzinfo=timezone.utc)


def order(**changes) -> Order:
    base = Order(
        external_id="T3JkZXItMQ==", visible_id="1", sparklayer_id="cart-1", currency="AUD", created_at=PLACED,
        customer=Customer(external_id="ada@example.com", email="ada@example.com"),
        lines=(OrderLine(external_id="L1", sku="A", name="Lamp", quantity=3, unit_price=Decimal("9.50")),
               OrderLine(external_id="L2", sku="B", name="Desk", quantity=1, unit_price=Decimal("120"))),
    )
    return base.model_copy(update=changes)


def packages(purchase) -> list[tuple[str, list[tuple[str, int]]]]:
    return [(p.type, [(i.sku, i.quantity) for i in p.line_items]) for p in purchase.packages]


def test_a_placed_order_is_one_processing_package_found_by_its_cart():
    purchase = purchase_for(order())
    assert packages(purchase) == [("processing", [("A", 3), ("B", 1)])]
    assert purchase.purchase_identifiers.sparklayer == "cart-1"
    assert purchase.purchase_identifiers.platform == "T3JkZXItMQ=="
    assert purchase.type == "order" and purchase.currency_code == "AUD"
    body = purchase.to_body()
    assert "total" not in body  # calculated fields are never sent
    assert body["packages"][0]["line_items"][0]["price"] == 9.5


def test_shipped_refunded_and_cancelled_items_leave_the_processing_package():
    lifecycle = order(
        shipments=(Shipment(external_id="S1", items=(PackageItem(line_external_id="L1", quantity=2),),
                            shipped_at=SHIPPED, carrier="AusPost", tracking_number="TRK1"),),
        refunds=(Refund(external_id="R1", items=(PackageItem(line_external_id="L1", quantity=1),)),),
        cancellations=(Cancellation(external_id="C1", items=(PackageItem(line_external_id="L2", quantity=1),)),),
    )
    purchase = purchase_for(lifecycle)
    assert packages(purchase) == [
        ("shipment", [("A", 2)]), ("refund", [("A", 1)]), ("cancelled", [("B", 1)]),
    ]
    (shipment,) = [p for p in purchase.packages if p.type == "shipment"]
    assert (shipment.shipped_at, shipment.tracking_number, shipment.shipping_method) == (SHIPPED, "TRK1", "AusPost")


def test_a_partly_shipped_order_keeps_the_rest_processing():
    partly = order(shipments=(Shipment(external_id="S1", items=(PackageItem(line_external_id="L1", quantity=1),)),))
    assert packages(purchase_for(partly)) == [("processing", [("A", 2), ("B", 1)]), ("shipment", [("A", 1)])]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"sparklayer_id": None}, "not placed through SparkLayer"),
        ({"lines": (OrderLine(external_id="L9", sku=None, quantity=1, unit_price=Decimal(1)),)}, "has no SKU"),
        ({"lines": (OrderLine(external_id="L9", sku="Z", quantity=1, unit_price=None),)}, "has no price"),
        ({"lines": ()}, "no line items"),
        ({"currency": None}, "currency_code"),
    ],
)
def test_orders_that_cannot_be_purchases_say_why(changes, reason):
    with pytest.raises(PurchaseNotSendable, match=reason):
        purchase_for(order(**changes))
