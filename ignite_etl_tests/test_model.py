from decimal import Decimal

import pytest
from pydantic import ValidationError

from ignite_etl.model import (
    CataloguePage,
    Order,
    OrderLine,
    PackageItem,
    Price,
    Product,
    Refund,
    RefundItem,
    Shipment,
    StoreSettings,
    Variant,
    VariantOption,
)


def test_records_are_frozen():
    price = Price(sku="A", price=Decimal("1.00"), currency="AUD")

    with pytest.raises(ValidationError):
        price.price = Decimal("2.00")


def test_store_settings_need_an_iso_currency_code():
    with pytest.raises(ValidationError):
        StoreSettings(base_currency="aud")
    assert StoreSettings(base_currency="AUD").base_currency == "AUD"


def test_processing_quantity_is_what_no_package_holds_yet():
    order = Order(
        external_id="o1",
        lines=[OrderLine(external_id="l1", quantity=5), OrderLine(external_id="l2", quantity=1)],
        shipments=[Shipment(external_id="s1", items=[PackageItem(line_external_id="l1", quantity=2)])],
        refunds=[Refund(external_id="r1", items=[RefundItem(line_external_id="l2", quantity=1)])],
    )

    assert order.processing_quantities() == {"l1": 3, "l2": 0}


def test_units_refunded_after_they_shipped_leave_their_shipment_not_processing():
    order = Order(
        external_id="o1",
        lines=[OrderLine(external_id="l1", quantity=5)],
        shipments=[Shipment(external_id="s1", items=[PackageItem(line_external_id="l1", quantity=2)]),
                   Shipment(external_id="s2", items=[PackageItem(line_external_id="l1", quantity=1)])],
        refunds=[Refund(external_id="r1", items=[RefundItem(line_external_id="l1", quantity=2, dispatched=True)])],
    )

    assert [[i.quantity for i in s.items] for s in order.net_shipments()] == [[1], []]
    assert order.processing_quantities() == {"l1": 2}


def test_catalogue_page_knows_its_newest_update():
    from datetime import datetime, timezone

    older, newer = datetime(2025, 1, 1, tzinfo=timezone.utc), datetime(2025, 2, 1, tzinfo=timezone.utc)
    page = CataloguePage(products=[
        Product(external_id="a", title="A", slug="a", updated_at=older),
        Product(external_id="b", title=None, slug=None, status="discontinued", updated_at=newer),
    ])

    assert page.updated_until == newer
    assert CataloguePage().updated_until is None


def test_variant_options_read_as_a_dict_and_unknown_fields_are_refused():
    variant = Variant(external_id="v", product_external_id="p", sku="S", position=1,
                      options=[VariantOption(name="Size", value="M")])

    assert variant.options_dict() == {"Size": "M"}
    with pytest.raises(ValidationError):
        Variant(external_id="v", product_external_id="p", sku="S", position=1, colour="red")
