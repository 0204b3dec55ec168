"""Golden tests of the Shopify mapping: one per row of shopify-api.md §1.1 (SparkLayer's own Shopify
connector) and per variant metafield of §1.4. Each takes a Shopify Admin API record as the adapter reads it
and checks the SparkLayer body our sync would send, through the same frames and payload code a sync uses."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from ignite_etl.model import CataloguePage
from ignite_etl.platforms.shopify.mapping import (
    MappedProducts,
    grams,
    is_sparklayer_order,
    map_customer,
    map_location,
    map_order,
    map_product,
    order_read_whole,
)
from ignite_etl.sync.extract import CatalogueFrames, customers_frame
from ignite_etl.sync.orders import PurchaseNotSendable, purchase_for
from ignite_etl.sync.payloads import customer_bodies, desired_products, pricing_bodies, stock_bodies

CURRENCY = "AUD"


def variant(number: int, **fields) -> dict:
    return {
        "id": f"gid://shopify/ProductVariant/{number}", "legacyResourceId": str(number), "sku": f"SKU-{number}",
        "position": 1, "price": "10.00", "compareAtPrice": None,
        "selectedOptions": [{"name": "Title", "value": "Default Title"}], "image": None,
        "inventoryItem": {"id": f"gid://shopify/InventoryItem/{number}", "measurement": {"weight": None},
                          "inventoryLevels": {"pageInfo": {"hasNextPage": False}, "nodes": []}},
        "metafields": {"pageInfo": {"hasNextPage": False}, "nodes": []},
        **fields,
    }


def product(*variants: dict, **fields) -> dict:
    return {
        "id": "gid://shopify/Product/632910392", "legacyResourceId": "632910392", "handle": "ipod-nano",
        "title": "IPod Nano - 8GB", "status": "ACTIVE", "updatedAt": "2026-11-01T10:00:00Z",
        "options": [{"name": "Title", "position": 1, "values": ["Default Title"]}], "featuredMedia": None,
        "variants": {"pageInfo": {"hasNextPage": False}, "nodes": list(variants) or [variant(808950810)]},
        **fields,
    }


def sparklayer(node: dict) -> dict:
    """What the sync sends SparkLayer for one Shopify product: the product body (variants inside), the stock
    bodies, the pricing bodies and the problems."""
    mapped = MappedProducts()
    map_product(copy.deepcopy(node), CURRENCY, mapped, shop="bobs.myshopify.com")
    frames = CatalogueFrames()
    frames.add(CataloguePage(products=tuple(mapped.products), stock_levels=tuple(mapped.stock_levels),
                             prices=tuple(mapped.prices), problems=tuple(mapped.problems)))
    [desired] = desired_products(frames.frame("products"), frames.frame("variants"))
    return {
        "product": desired.fields, "variants": list(desired.variants),
        "stock": dict(stock_bodies(frames.frame("stock"))),
        "prices": dict(pricing_bodies(frames.frame("prices"), "shopify-price")),
        "problems": mapped.problems, "status": mapped.products[0].status,
    }


# ---- §1.1 products ----

def test_product_id_handle_and_title_become_external_id_slug_and_title():
    body = sparklayer(product())

    assert body["product"] == {"external_id": "632910392", "title": "IPod Nano - 8GB", "slug": "ipod-nano"}


def test_variant_id_becomes_the_variants_external_id_and_sku_its_sku():
    [body] = sparklayer(product(variant(808950810, sku="IPOD2008PINK")))["variants"]

    assert (body["external_id"], body["sku"]) == ("808950810", "IPOD2008PINK")


def test_a_variant_belongs_to_its_shopify_product_id():
    mapped = MappedProducts()
    map_product(product(variant(1), variant(2, position=2)), CURRENCY, mapped)

    assert {v.product_external_id for v in mapped.products[0].variants} == {"632910392"}


@pytest.mark.parametrize(("unit", "value", "expected"), [
    ("GRAMS", 250.0, 250), ("KILOGRAMS", 1.25, 1250), ("POUNDS", 1.0, 454), ("OUNCES", 2.0, 57),
])
def test_weight_in_any_unit_becomes_grams(unit, value, expected):
    weighed = variant(1, inventoryItem={**variant(1)["inventoryItem"], "measurement": {"weight": {"unit": unit, "value": value}}})

    [body] = sparklayer(product(weighed))["variants"]

    assert body["weight_in_grams"] == expected


def test_no_weight_sends_no_weight():
    [body] = sparklayer(product(variant(1)))["variants"]

    assert "weight_in_grams" not in body
    assert grams({"unit": "STONES", "value": 1}) is None


def test_option_names_and_values_become_variant_groups_and_values():
    options = [{"name": "Colour", "value": "Pink"}, {"name": "Size", "value": "8GB"}]

    [body] = sparklayer(product(variant(1, selectedOptions=options)))["variants"]

    assert body["options"] == [{"group": "Colour", "value": "Pink"}, {"group": "Size", "value": "8GB"}]


def test_the_default_title_option_of_a_product_without_options_is_no_option():
    [body] = sparklayer(product(variant(1)))["variants"]

    assert "options" not in body


@pytest.mark.parametrize(("shopify", "ignite"), [("ACTIVE", "live"), ("ARCHIVED", "discontinued"),
                                                 ("DRAFT", "discontinued")])
def test_status(shopify, ignite):
    body = sparklayer(product(status=shopify))

    assert body["status"] == ignite
    assert {v["status"] for v in body["variants"]} == {ignite}


def test_a_deleted_product_is_discontinued():
    from ignite_etl.platforms.shopify.mapping import deleted_product

    assert deleted_product("632910392").status == "discontinued"


def test_the_first_variant_is_the_default_one_first_in_position_order():
    body = sparklayer(product(variant(2, position=2), variant(1, position=1)))

    assert [(v["external_id"], v["position"]) for v in body["variants"]] == [("1", 1), ("2", 2)]


def test_the_variants_image_is_its_cart_image_and_the_products_image_otherwise():
    media = {"image": {"url": "https://cdn.shopify.com/p.jpg"}}
    own = variant(1, image={"url": "https://cdn.shopify.com/v.jpg"})

    bodies = sparklayer(product(own, variant(2, position=2), featuredMedia=media))["variants"]

    assert [b["cart_image_url"] for b in bodies] == ["https://cdn.shopify.com/v.jpg", "https://cdn.shopify.com/p.jpg"]


def test_a_variant_without_a_sku_is_a_problem_naming_it_and_the_rest_syncs():
    body = sparklayer(product(variant(1, sku=None), variant(2, position=2)))

    assert [v["external_id"] for v in body["variants"]] == ["2"]
    [problem] = body["problems"]
    assert problem.external_id == "variant:1"
    assert "no SKU" in problem.message
    assert problem.external_url == "https://bobs.myshopify.com/admin/products/632910392"


# ---- prices and stock ----

def test_the_variant_price_goes_to_the_shopify_price_list():
    body = sparklayer(product(variant(1, price="24.95")))

    assert body["prices"] == {"SKU-1": {"sku": "SKU-1", "pricing": [{"quantity": 1, "price": 24.95}]}}


def test_stock_goes_to_the_location_of_the_same_id():
    levels = {"pageInfo": {"hasNextPage": False}, "nodes": [
        {"location": {"legacyResourceId": "11"}, "quantities": [{"name": "available", "quantity": 7}]},
        {"location": {"legacyResourceId": "12"}, "quantities": [{"name": "available", "quantity": -3}]},
    ]}
    stocked = variant(1, inventoryItem={**variant(1)["inventoryItem"], "inventoryLevels": levels})

    body = sparklayer(product(stocked))

    assert {k: v["stock_level"] for k, v in body["stock"].items()} == {"SKU-1@11": 7, "SKU-1@12": 0}
    assert {v["stock_location_external_id"] for v in body["stock"].values()} == {"11", "12"}
    assert map_location({"id": "gid://shopify/Location/11", "legacyResourceId": "11", "name": "Warehouse"}).external_id == "11"


def test_a_product_that_is_not_active_has_no_stock_and_no_price():
    levels = {"pageInfo": {"hasNextPage": False}, "nodes": [
        {"location": {"legacyResourceId": "11"}, "quantities": [{"name": "available", "quantity": 7}]}]}
    stocked = variant(1, inventoryItem={**variant(1)["inventoryItem"], "inventoryLevels": levels})

    body = sparklayer(product(stocked, status="DRAFT"))

    assert body["stock"]["SKU-1@11"]["stock_level"] == 0
    assert body["prices"] == {}


# ---- §1.4 variant metafields (namespace sparklayer) ----

def metafields(*items: tuple[str, str, str]) -> dict:
    return {"pageInfo": {"hasNextPage": False}, "nodes": [{"key": k, "type": t, "value": v} for k, t, v in items]}


def with_metafields(*items: tuple[str, str, str]) -> dict:
    return sparklayer(product(variant(1, metafields=metafields(*items))))


def test_compare_at_price_is_the_rrp():
    [body] = sparklayer(product(variant(1, compareAtPrice="29.95")))["variants"]

    assert body["rrp"] == [{"currency_code": "AUD", "price": 29.95}]


@pytest.mark.parametrize(("kind", "value"), [("number_decimal", "19.95"),
                                             ("money", '{"amount":"19.95","currency_code":"AUD"}')])
def test_the_rrp_metafield_is_the_rrp_over_compare_at_price(kind, value):
    body = sparklayer(product(variant(1, compareAtPrice="29.95", metafields=metafields(("rrp", kind, value)))))

    assert body["variants"][0]["rrp"] == [{"currency_code": "AUD", "price": 19.95}]


@pytest.mark.parametrize(("key", "field"), [("pack_size", "order_increment"),
                                            ("min_order_quantity", "minimum_order_quantity"),
                                            ("max_order_quantity", "maximum_order_quantity")])
def test_quantity_rules_become_the_base_groups_settings(key, field):
    [body] = with_metafields((key, "number_integer", "6"))["variants"]

    assert body["settings"] == [{"customer_group": "base", field: 6}]


def test_the_settings_metafield_supersedes_the_plain_keys():
    settings = '[{"customer_group": "trade", "pack_size": 12}, {"customer_group": "base", "min_order_quantity": 2}]'

    [body] = with_metafields(("pack_size", "number_integer", "6"), ("settings", "json", settings))["variants"]

    assert body["settings"] == [{"customer_group": "base", "minimum_order_quantity": 2},
                                {"customer_group": "trade", "order_increment": 12}]


def test_restock_date_and_min_stock_level_go_with_the_stock():
    levels = {"pageInfo": {"hasNextPage": False}, "nodes": [
        {"location": {"legacyResourceId": "11"}, "quantities": [{"name": "available", "quantity": 0}]}]}
    node = variant(1, inventoryItem={**variant(1)["inventoryItem"], "inventoryLevels": levels},
                   metafields=metafields(("restock_date", "date", "2027-03-01"), ("min_stock_level", "number_integer", "4")))

    stock = sparklayer(product(node))["stock"]["SKU-1@11"]

    assert (stock["restock_date"], stock["min_stock_level"]) == ("2027-03-01", 4)


@pytest.mark.parametrize("data", [
    '[{"stock_location_external_id": "12", "restock_date": "2027-05-01", "min_stock_level": 9}]',
    '{"12": {"restock_date": "2027-05-01", "min_stock_level": 9}}',
], ids=["list", "by-location"])
def test_stock_location_data_sets_the_restock_date_and_minimum_at_its_locations(data):
    levels = {"pageInfo": {"hasNextPage": False}, "nodes": [
        {"location": {"legacyResourceId": loc}, "quantities": [{"name": "available", "quantity": 1}]}
        for loc in ("11", "12")]}
    node = variant(1, inventoryItem={**variant(1)["inventoryItem"], "inventoryLevels": levels},
                   metafields=metafields(("restock_date", "date", "2027-03-01"), ("stock_location_data", "json", data)))

    stock = sparklayer(product(node))["stock"]

    assert (stock["SKU-1@11"]["restock_date"], stock["SKU-1@11"].get("min_stock_level")) == ("2027-03-01", None)
    assert (stock["SKU-1@12"]["restock_date"], stock["SKU-1@12"]["min_stock_level"]) == ("2027-05-01", 9)


def test_stock_location_data_that_does_not_parse_is_a_problem_and_the_stock_still_syncs():
    body = with_metafields(("stock_location_data", "json", '[{"restock_date": "soon"}]'))

    [problem] = body["problems"]
    assert problem.external_id == "variant:1:stock_location_data" and "stock_location_external_id" in problem.resolution


def test_a_metafield_that_does_not_parse_is_a_problem_and_the_variant_still_syncs():
    body = with_metafields(("pack_size", "number_integer", "a dozen"))

    assert [v["sku"] for v in body["variants"]] == ["SKU-1"]
    [problem] = body["problems"]
    assert problem.external_id == "variant:1:pack_size"
    assert "sparklayer.pack_size" in problem.message and "a dozen" in problem.message


def test_keys_sparklayer_has_no_variant_field_for_are_ignored():
    body = with_metafields(("display", "boolean", "true"), ("reserve_stock_quantity", "number_integer", "2"))

    assert body["problems"] == []
    assert "settings" not in body["variants"][0]
    assert Decimal(body["prices"]["SKU-1"]["pricing"][0]["price"]) == Decimal("10.00")


# ---- §1.2 customers, §1.4 customer metafields ----

def customer_node(**fields) -> dict:
    return {"id": "gid://shopify/Customer/207119551", "legacyResourceId": "207119551", "email": "bob.norman@mail.example.com",
            "firstName": "Bob", "lastName": "Norman", "phone": None, "tags": ["b2b"], "taxExempt": False,
            "updatedAt": "2026-11-01T10:00:00Z", "addresses": [],
            "metafields": {"pageInfo": {"hasNextPage": False}, "nodes": []}, **fields}


def customer_body(node: dict) -> dict | None:
    """What the sync sends SparkLayer for one Shopify customer (None: not a B2B customer, not sent)."""
    mapped = map_customer(node)
    if mapped is None:
        return None
    [(external_id, body)], problems = customer_bodies(customers_frame([mapped]))
    assert problems == [] and external_id == body["external_id"]
    return body


def customer_metafields(*items: tuple[str, str, str]) -> dict:
    return {"pageInfo": {"hasNextPage": False}, "nodes": [{"key": k, "type": t, "value": v} for k, t, v in items]}


def test_customer_id_email_names_and_tax_exempt_keep_their_names():
    body = customer_body(customer_node(taxExempt=True))

    assert {k: body[k] for k in ("external_id", "email", "first_name", "last_name", "tax_exempt")} == {
        "external_id": "207119551", "email": "bob.norman@mail.example.com", "first_name": "Bob", "last_name": "Norman",
        "tax_exempt": True}


def test_address_fields_map_as_sparklayers_connector_maps_them():
    address = {"id": "gid://shopify/MailingAddress/207119551", "firstName": "Bob", "lastName": "Norman",
               "company": "Norman & Co", "address1": "Chestnut Street 92", "address2": "Unit 4", "city": "Louisville",
               "provinceCode": "KY", "countryCodeV2": "US", "zip": "40202", "phone": "555-625-1199"}

    [sent] = customer_body(customer_node(addresses=[address]))["addresses"]

    assert sent == {"external_id": "207119551", "first_name": "Bob", "last_name": "Norman", "company": "Norman & Co",
                    "address_line1": "Chestnut Street 92", "address_line2": "Unit 4", "city": "Louisville",
                    "region_code": "KY", "postcode": "40202", "country_code": "US", "phone": "555-625-1199"}


@pytest.mark.parametrize(("tags", "metafields", "b2b"), [
    (["b2b"], [], True), (["B2B", "vip"], [], True), (["b2b-trade"], [], True),
    (["newsletter"], [("company_name", "single_line_text_field", "Acme")], True),
    (["newsletter"], [], False), ([], [], False),
])
def test_only_b2b_customers_are_sent(tags, metafields, b2b):
    body = customer_body(customer_node(tags=tags, metafields=customer_metafields(*metafields)))

    assert (body is not None) == b2b


def test_the_group_comes_from_the_group_metafield_else_a_b2b_group_tag():
    assert customer_body(customer_node(tags=["b2b-trade"]))["group"] == "trade"
    assert customer_body(customer_node(tags=["b2b-trade"], metafields=customer_metafields(
        ("group", "single_line_text_field", "wholesale"))))["group"] == "wholesale"
    assert "group" not in customer_body(customer_node(tags=["b2b"]))  # the merchant's, in SparkLayer


def test_sparklayer_customer_metafields_map_to_their_sparklayer_keys():
    body = customer_body(customer_node(metafields=customer_metafields(
        ("company_name", "single_line_text_field", "Acme Trading"), ("title", "single_line_text_field", "Buyer"),
        ("price_lists", "json", '["trade", "clearance"]'), ("discount_percentage", "number_decimal", "7.5"),
        ("payment_on_account", "json", '{"credit_limit": 1000, "balance": 250}'),
        ("accounting_id", "single_line_text_field", "ACC-9"))))

    assert (body["company_name"], body["title"], body["accounting_id"]) == ("Acme Trading", "Buyer", "ACC-9")
    assert body["price_lists"] == ["trade", "clearance"] and Decimal(str(body["discount_percentage"])) == Decimal("7.5")
    assert {k: Decimal(str(v)) for k, v in body["payment_on_account"].items()} == {"credit_limit": 1000, "balance": 250}


def test_a_customer_metafield_that_does_not_parse_is_left_to_sparklayer_and_reported():
    node = customer_node(metafields=customer_metafields(
        ("price_lists", "json", '{"not": "a list"}'), ("discount_percentage", "number_decimal", "150"),
        ("payment_on_account", "json", "plenty"), ("company_name", "single_line_text_field", "Acme")))

    [(_, body)], problems = customer_bodies(customers_frame([map_customer(node)]))

    assert not {"price_lists", "discount_percentage", "payment_on_account"} & set(body)
    assert body["company_name"] == "Acme"  # the rest of the customer is sent
    assert {p.external_id for p in problems} == {f"customer:207119551:{key}" for key in
                                                  ("price_lists", "discount_percentage", "payment_on_account")}
    [percentage] = [p for p in problems if p.external_id.endswith("discount_percentage")]
    assert "'150' is not a number from 0 to 100" in percentage.message
    assert percentage.resolution == ("Set sparklayer.discount_percentage of customer bob.norman@mail.example.com in "
                                     "Shopify to a number from 0 to 100.")


# ---- orders (SH §1.3): the Shopify order to the purchase SparkLayer's Purchasing API receives ----

SHIPPING = {"id": "gid://shopify/MailingAddress/1", "firstName": "Bob", "lastName": "Norman", "company": None,
            "address1": "Chestnut Street 92", "address2": None, "city": "Louisville", "provinceCode": "KY",
            "countryCodeV2": "US", "zip": "40202", "phone": None}


def order_line(line_id: int, sku: str, quantity: int, price: str, charged: str | None = None) -> dict:
    return {"id": f"gid://shopify/LineItem/{line_id}", "sku": sku, "name": f"Kettle - {sku}", "quantity": quantity,
            "variant": {"legacyResourceId": str(line_id + 100)}, "originalUnitPriceSet": {"shopMoney": {"amount": price}},
            "customAttributes": [{"key": "Charged Price", "value": charged}] if charged else []}


def order_node(**fields) -> dict:
    node = {"id": "gid://shopify/Order/450789469", "legacyResourceId": "450789469", "name": "#1001",
            "processedAt": "2026-11-20T10:00:00Z", "updatedAt": "2026-11-21T10:00:00Z", "cancelledAt": None,
            "currencyCode": "USD", "email": "bob@example.com",
            "customAttributes": [{"key": "sparkCartId", "value": "cart-abc"},
                                 {"key": "sparkPaymentType", "value": "paymentOnAccount"}],
            "customer": {"id": "gid://shopify/Customer/207119551", "legacyResourceId": "207119551",
                         "email": "bob@example.com"},
            "shippingAddress": SHIPPING, "billingAddress": {**SHIPPING, "address1": "PO Box 7"},
            "lineItems": {"pageInfo": {"hasNextPage": False},
                          "nodes": [order_line(1, "K-1", 2, "20.00", "15.50"), order_line(2, "K-2", 1, "30.00")]},
            "fulfillments": [], "refunds": []}
    return {**node, **fields}


def purchase_body(node: dict) -> dict:
    return purchase_for(map_order(node)).to_body()


def items_of(body: dict) -> dict:
    return {(p["type"], i["sku"]): i["quantity"] for p in body["packages"] for i in p["line_items"]}


def test_an_orders_ids_currency_customer_and_dates_map_as_sparklayers_connector_maps_them():
    body = purchase_body(order_node())

    assert body["purchase_identifiers"] == {"sparklayer": "cart-abc", "platform": "450789469", "visible": "#1001"}
    assert body["currency_code"] == "USD" and body["created_at"].startswith("2026-11-20T10:00:00")
    assert body["customer"] == {"external_id": "207119551", "email": "bob@example.com"}


def test_the_billing_and_shipping_addresses_are_carried():
    body = purchase_body(order_node())

    assert body["billing_address"]["address_line1"] == "PO Box 7"
    [processing] = body["packages"]
    assert (processing["shipping_address"]["address_line1"], processing["shipping_address"]["region_code"]) == (
        "Chestnut Street 92", "KY")


def test_the_shipping_lines_title_is_the_processing_packages_shipping_method():
    [processing] = purchase_body(order_node(shippingLine={"title": "Standard freight"}))["packages"]

    assert processing["shipping_method"] == "Standard freight"


def test_lines_are_processing_at_the_charged_price_else_their_own():
    [processing] = purchase_body(order_node())["packages"]

    assert processing["type"] == "processing"
    assert [(i["sku"], i["name"], i["quantity"], Decimal(str(i["price"]))) for i in processing["line_items"]] == [
        ("K-1", "Kettle - K-1", 2, Decimal("15.50")), ("K-2", "Kettle - K-2", 1, Decimal("30.00"))]


def test_fulfillments_are_shipments_with_tracking_and_refunds_and_cancellations_their_own_packages():
    def items(*pairs):
        return {"pageInfo": {"hasNextPage": False},
                "nodes": [{"lineItem": {"id": f"gid://shopify/LineItem/{i}"}, "quantity": q, **extra}
                          for i, q, extra in pairs]}
    node = order_node(
        fulfillments=[{"id": "gid://shopify/Fulfillment/5", "createdAt": "2026-11-22T00:00:00Z", "status": "SUCCESS",
                       "trackingInfo": [{"company": "UPS", "number": "1Z999", "url": None}],
                       "fulfillmentLineItems": items((1, 2, {}))}],
        refunds=[{"id": "gid://shopify/Refund/6", "createdAt": "2026-11-23T00:00:00Z",
                  "refundLineItems": items((1, 1, {"restockType": "RETURN"}), (2, 1, {"restockType": "CANCEL"}))}])

    body = purchase_body(node)

    assert items_of(body) == {("shipment", "K-1"): 1, ("refund", "K-1"): 1, ("cancelled", "K-2"): 1}
    [shipment] = [p for p in body["packages"] if p["type"] == "shipment"]
    assert (shipment["tracking_number"], shipment["shipping_method"]) == ("1Z999", "UPS")


def test_a_cancelled_order_cancels_what_was_still_processing():
    body = purchase_body(order_node(cancelledAt="2026-11-22T00:00:00Z"))

    assert items_of(body) == {("cancelled", "K-1"): 2, ("cancelled", "K-2"): 1}


def test_only_orders_placed_through_sparklayer_are_sparklayer_orders():
    assert is_sparklayer_order(order_node())
    assert not is_sparklayer_order(order_node(customAttributes=[{"key": "gift", "value": "yes"}]))
    with pytest.raises(PurchaseNotSendable, match="not placed through SparkLayer"):
        purchase_for(map_order(order_node(customAttributes=[])))


def test_an_order_longer_than_one_read_is_reported_not_sent_in_part():
    node = order_node(lineItems={**order_node()["lineItems"], "pageInfo": {"hasNextPage": True}})

    assert order_read_whole(order_node()) and not order_read_whole(node)
    with pytest.raises(PurchaseNotSendable, match="cannot read whole yet"):
        purchase_for(map_order(node))


@pytest.mark.parametrize(("tags", "value", "imported"), [
    (["b2b"], "true", True), (["B2B", "wholesale"], "2026-11-01", True), (["b2b"], None, False),
    (["b2b"], "false", False), (["wholesale"], "true", False),
])
def test_an_order_placed_elsewhere_is_sparklayers_when_tagged_b2b_with_the_order_import_metafield(
        tags, value, imported):
    node = order_node(customAttributes=[], tags=tags, orderImport={"value": value} if value is not None else None)

    assert is_sparklayer_order(node) == imported
    if imported:
        body = purchase_body(node)
        assert body["purchase_identifiers"] == {"platform": "450789469", "visible": "#1001"}  # no cart to replace


# ---- Shopify B2B companies (SH §6.3; CONTRACTS.md) ----

def contact_profile(*, main: bool = True, title: str | None = "Buyer", location: dict | None = None) -> list:
    return [{"isMainContact": main, "title": title,
             "company": {"name": "Norman Supplies", "externalId": "CO-7",
                         "mainContact": {"customer": {"legacyResourceId": "207119551"}}},
             "roleAssignments": {"nodes": [{"companyLocation": location or {"externalId": None,
                                                                            "taxSettings": {"taxExempt": False}}}]}}]


def test_a_company_contact_is_a_b2b_customer_buying_for_its_company():
    body = customer_body(customer_node(tags=[], companyContactProfiles=contact_profile()))

    assert (body["company_name"], body["accounting_id"], body["title"]) == ("Norman Supplies", "CO-7", "Buyer")


def test_the_contacts_location_gives_its_accounting_id_and_tax_exemption():
    location = {"externalId": "LOC-3", "taxSettings": {"taxExempt": True}}

    body = customer_body(customer_node(tags=[], companyContactProfiles=contact_profile(location=location)))

    assert (body["accounting_id"], body["tax_exempt"]) == ("LOC-3", True)


def test_a_contact_who_is_not_the_main_one_buys_under_the_main_contact():
    main = customer_body(customer_node(tags=[], companyContactProfiles=contact_profile(main=True)))
    other = customer_node(tags=[], companyContactProfiles=contact_profile(main=False))
    other = customer_body({**other, "id": "gid://shopify/Customer/5", "legacyResourceId": "5"})

    assert "parent_customer_id" not in main and other["parent_customer_id"] == "207119551"


def test_the_active_catalogs_of_the_contacts_location_are_its_price_lists():
    location = {"externalId": None, "taxSettings": {"taxExempt": False}, "catalogs": {"nodes": [
        {"status": "ACTIVE", "priceList": {"id": "gid://shopify/PriceList/11"}},
        {"status": "ARCHIVED", "priceList": {"id": "gid://shopify/PriceList/12"}}, {"status": "ACTIVE", "priceList": None}]}}

    body = customer_body(customer_node(tags=[], companyContactProfiles=contact_profile(location=location)))

    assert body["price_lists"] == ["shopify-price-list-11"]
    with_own = customer_body(customer_node(tags=[], companyContactProfiles=contact_profile(location=location),
                                           metafields=customer_metafields(("price_lists", "json", '["vip"]'))))
    assert with_own["price_lists"] == ["vip"]


def test_the_customers_sparklayer_metafields_come_before_the_company():
    body = customer_body(customer_node(tags=[], companyContactProfiles=contact_profile(), metafields=customer_metafields(
        ("company_name", "single_line_text_field", "Trading Name"), ("accounting_id", "single_line_text_field", "A-1"),
        ("title", "single_line_text_field", "Owner"))))

    assert (body["company_name"], body["accounting_id"], body["title"]) == ("Trading Name", "A-1", "Owner")


def test_an_edited_order_has_the_units_left_after_the_edit_with_its_refunds_in_their_own_package():
    edited = {**order_line(1, "K-1", 4, "20.00"), "currentQuantity": 1}  # 2 edited out, 1 refunded
    node = order_node(lineItems={"pageInfo": {"hasNextPage": False},
                                 "nodes": [edited, {**order_line(2, "K-2", 1, "30.00"), "currentQuantity": 1}]},
                      refunds=[{"id": "gid://shopify/Refund/6", "createdAt": "2026-11-23T00:00:00Z",
                                "refundLineItems": {"pageInfo": {"hasNextPage": False}, "nodes": [
                                    {"lineItem": {"id": "gid://shopify/LineItem/1"}, "quantity": 1,
                                     "restockType": "NO_RESTOCK"}]}}])

    assert items_of(purchase_body(node)) == {("processing", "K-1"): 1, ("refund", "K-1"): 1, ("processing", "K-2"): 1}
