"""Golden tests of the Shopify mapping: one per row of shopify-api.md §1.1 (SparkLayer's own Shopify
connector) and per variant metafield of §1.4. Each takes a Shopify Admin API record as the adapter reads it
and checks the SparkLayer body our sync would send, through the same frames and payload code a sync uses."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from ignite_etl.model import CataloguePage
from ignite_etl.platforms.shopify.mapping import MappedProducts, grams, map_location, map_product
from ignite_etl.sync.extract import CatalogueFrames
from ignite_etl.sync.payloads import desired_products, pricing_bodies, stock_bodies

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
