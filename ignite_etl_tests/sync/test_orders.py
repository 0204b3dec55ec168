"""Orders as purchases: golden cases for the package lifecycle (no I/O)."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from ignite_etl.model import Address, Cancellation, Customer, Order, OrderLine, PackageItem, Refund, RefundItem, Shipment
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
        refunds=(Refund(external_id="R1", items=(RefundItem(line_external_id="L1", quantity=1),)),),
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


def test_a_refund_of_shipped_units_moves_them_out_of_their_shipment():
    returned = order(
        shipments=(Shipment(external_id="S1", items=(PackageItem(line_external_id="L1", quantity=2),)),
                   Shipment(external_id="S2", items=(PackageItem(line_external_id="L1", quantity=1),
                                                     PackageItem(line_external_id="L2", quantity=1)))),
        refunds=(Refund(external_id="R1", items=(RefundItem(line_external_id="L1", quantity=2, dispatched=True),)),),
    )

    # each unit sits in one package: the latest shipment gives up its unit first
    assert packages(purchase_for(returned)) == [("shipment", [("A", 1)]), ("shipment", [("B", 1)]),
                                                ("refund", [("A", 2)])]


def test_the_purchase_carries_its_shipping_address_on_packages_and_its_billing_address():
    shipping = Address(first_name="Ada", last_name="L", line_1="1 Main St", city="Sydney", region="NSW",
                       postcode="2000", country_code="AU", company_name="Ada Co")
    billing = Address(line_1="PO Box 7", city="Perth", country_code="AU")
    purchase = purchase_for(order(shipping_address=shipping, billing_address=billing,
                                  shipments=(Shipment(external_id="S1", items=(PackageItem(line_external_id="L2", quantity=1),)),)))

    body = purchase.to_body()
    assert body["billing_address"] == {"address_line1": "PO Box 7", "city": "Perth", "country_code": "AU"}
    assert [p["shipping_address"]["address_line1"] for p in body["packages"]] == ["1 Main St", "1 Main St"]
    assert body["packages"][0]["shipping_address"] == {
        "first_name": "Ada", "last_name": "L", "company": "Ada Co", "address_line1": "1 Main St", "city": "Sydney",
        "region_code": "NSW", "postcode": "2000", "country_code": "AU"}


def test_an_order_whose_address_cannot_be_sent_says_which_address():
    with pytest.raises(PurchaseNotSendable, match="billing address"):
        purchase_for(order(billing_address=Address(line_1="PO Box 7")))  # no country
