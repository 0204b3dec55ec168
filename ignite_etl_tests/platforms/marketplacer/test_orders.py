from decimal import Decimal

BUYER = {"firstName": "Ann", "surname": "Lee", "emailAddress": "Ann@Example.com", "phone": "0400000000"}
ADDRESS = {"address": "1 Main St", "city": "Sydney", "state": "NSW", "postcode": "2000", "country": "AU"}


def _variant(sandbox, advert_id, index=0):
    return sandbox.catalogue.adverts[advert_id].variant_ids[index]


def _stocked(sandbox, *variant_ids):
    for variant_id in variant_ids:
        sandbox.set_stock(variant_id, 10)


def test_only_sparklayer_orders_are_extracted_with_lines_from_every_invoice(sandbox, connect):
    sandbox.generate(30, seed=2, broken_rate=0)
    sellers = {}
    for advert in sandbox.catalogue.adverts.values():
        sellers.setdefault(advert.seller_id, advert.legacy_id)
    lines = [_variant(sandbox, a) for a in list(sellers.values())[:2]]
    _stocked(sandbox, *lines)
    placed = sandbox.place_order([{"variant_id": v, "quantity": 2} for v in lines], BUYER, ADDRESS, "cart-42")
    sandbox.place_order([{"variant_id": lines[0], "quantity": 1}], BUYER, ADDRESS)

    orders = list(connect().iter_orders())

    assert len(placed["invoice_ids"]) == 2
    assert [o.sparklayer_id for o in orders] == ["cart-42"]
    assert len(orders[0].lines) == 2
    assert orders[0].customer_email == "ann@example.com"
    assert orders[0].processing_quantities() == {line.external_id: 2 for line in orders[0].lines}


def test_shipments_refunds_and_cancellations_become_packages(sandbox, connect):
    sandbox.generate(3, seed=2, broken_rate=0)
    variant_id = _variant(sandbox, 1)
    _stocked(sandbox, variant_id)
    placed = sandbox.place_order([{"variant_id": variant_id, "quantity": 5}], BUYER, ADDRESS, "cart-7")
    invoice_id = placed["invoice_ids"][0]
    line_id = sandbox.catalogue.invoices[invoice_id].line_item_ids[0]

    sandbox.ship(invoice_id, [{"line_item_id": line_id, "quantity": 2}], carrier="StarTrack", tracking_number="T1")
    sandbox.refund(invoice_id, [{"line_item_id": line_id, "quantity": 1}])  # one of the shipped ones, returned
    sandbox.cancel(invoice_id, [{"line_item_id": line_id, "quantity": 1}])
    [order] = connect().iter_orders()

    line = order.lines[0]
    assert [(s.carrier, s.tracking_number, s.items[0].quantity) for s in order.shipments] == [("StarTrack", "T1", 2)]
    assert [(r.items[0].quantity, r.items[0].dispatched, r.amount) for r in order.refunds] == [(1, True, line.unit_price)]
    assert [c.items[0].quantity for c in order.cancellations] == [1]
    # every unit in one package: 1 still shipped, 1 refunded after it shipped, 1 cancelled, 2 processing
    assert [s.items[0].quantity for s in order.net_shipments()] == [1]
    assert order.processing_quantities() == {line.external_id: 2}


def test_a_refund_before_dispatch_comes_out_of_processing(sandbox, connect):
    sandbox.generate(3, seed=2, broken_rate=0)
    variant_id = _variant(sandbox, 1)
    _stocked(sandbox, variant_id)
    placed = sandbox.place_order([{"variant_id": variant_id, "quantity": 4}], BUYER, ADDRESS, "cart-7")
    invoice_id = placed["invoice_ids"][0]
    line_id = sandbox.catalogue.invoices[invoice_id].line_item_ids[0]

    sandbox.ship(invoice_id, [{"line_item_id": line_id, "quantity": 1}])
    sandbox.refund(invoice_id, [{"line_item_id": line_id, "quantity": 3}])  # 1 shipped and returned, 2 never sent
    [order] = connect().iter_orders()

    assert sorted((i.quantity, i.dispatched) for r in order.refunds for i in r.items) == [(1, True), (2, False)]
    assert order.net_shipments()[0].items == ()
    assert order.cancellations == ()
    assert order.processing_quantities() == {order.lines[0].external_id: 1}  # 4 - 3 refunded


def test_an_order_with_more_invoices_than_a_page_is_read_whole(sandbox, connect):
    from ignite_etl.platforms.marketplacer import queries

    lines = []
    for seller in range(1, queries.INVOICES_PER_PAGE + 12):  # one seller each: one invoice each
        advert_id = sandbox.add_advert(f"Thing {seller}", [{"sku": f"T-{seller}", "price": "1.00", "count_on_hand": 2}],
                                       seller_id=seller)
        lines.append({"variant_id": _variant(sandbox, advert_id), "quantity": 1})
    placed = sandbox.place_order(lines, BUYER, ADDRESS, "cart-big")
    platform = connect()

    [order] = platform.iter_orders()

    assert len(placed["invoice_ids"]) == queries.INVOICES_PER_PAGE + 11
    assert len(order.lines) == len(lines)
    assert {line.sku for line in order.lines} == {f"T-{n}" for n in range(1, queries.INVOICES_PER_PAGE + 12)}


def test_order_addresses_and_buyer_come_from_the_order(sandbox, connect):
    advert_id = sandbox.add_advert("Stove", [{"sku": "ST-1", "price": "45.50", "count_on_hand": 3}])
    billing = {"address": "9 Account Rd", "city": "Perth", "state": "WA", "postcode": "6000", "country": "AU",
               "firstName": "Accounts", "surname": "Team", "companyName": "Lee Pty Ltd"}
    sandbox.place_order([{"variant_id": _variant(sandbox, advert_id), "quantity": 1}],
                        {**BUYER, "companyName": "Lee Pty Ltd"}, ADDRESS, "cart-9", billing_address=billing)

    [order] = connect().iter_orders()

    assert (order.shipping_address.line_1, order.shipping_address.region, order.shipping_address.country_code,
            order.shipping_address.first_name) == ("1 Main St", "NSW", "AU", "Ann")
    assert (order.billing_address.line_1, order.billing_address.city, order.billing_address.first_name,
            order.billing_address.company_name) == ("9 Account Rd", "Perth", "Accounts", "Lee Pty Ltd")
    assert (order.customer.email, order.customer.company_name) == ("ann@example.com", "Lee Pty Ltd")


def test_orders_updated_since_and_fetch_by_invoice_id(sandbox, connect):
    sandbox.generate(3, seed=2, broken_rate=0)
    variant_id = _variant(sandbox, 1)
    _stocked(sandbox, variant_id)
    placed = sandbox.place_order([{"variant_id": variant_id, "quantity": 1}], BUYER, ADDRESS, "cart-8")
    platform = connect()
    [order] = platform.iter_orders()
    from datetime import timedelta

    later = list(platform.iter_orders(updated_since=order.updated_at + timedelta(seconds=2)))
    from ignite_etl.sandbox.marketplacer.catalogue import global_id

    fetched = platform.fetch_orders([global_id("Invoice", placed["invoice_ids"][0])])

    assert later == []
    assert [o.external_id for o in fetched] == [order.external_id]


def test_customers_are_buyers_of_sparklayer_orders_each_email_once(sandbox, connect):
    sandbox.generate(3, seed=2, broken_rate=0)
    variant_id = _variant(sandbox, 1)
    _stocked(sandbox, variant_id)
    for cart in ("c1", "c2"):
        sandbox.place_order([{"variant_id": variant_id, "quantity": 1}], BUYER, ADDRESS, cart)
    sandbox.place_order([{"variant_id": variant_id, "quantity": 1}], {**BUYER, "emailAddress": "b2c@x.com"}, ADDRESS)

    customers = list(connect().iter_customers())

    assert [(c.external_id, c.first_name, c.last_name) for c in customers] == [("ann@example.com", "Ann", "Lee")]
    assert customers[0].addresses[0].city == "Sydney"


def test_unit_price_is_a_decimal(sandbox, connect):
    advert_id = sandbox.add_advert("Stove", [{"sku": "ST-1", "price": "45.50", "count_on_hand": 3}])
    variant_id = _variant(sandbox, advert_id)
    sandbox.place_order([{"variant_id": variant_id, "quantity": 1}], BUYER, ADDRESS, "cart-9")

    [order] = connect().iter_orders()

    assert order.lines[0].unit_price == Decimal("45.50")
    assert order.lines[0].sku == "ST-1"
