"""The sandbox refuses the bodies SparkLayer refuses, with RFC 7807 (or the pricing API's) answers."""

from __future__ import annotations

import pytest

from ignite_etl_tests.sandbox.sparklayer.conftest import SITE


def customer(external_id="c1", **changes):
    body = {"external_id": external_id, "email": f"{external_id}@example.com", "first_name": "Ada", "last_name": "B"}
    body.update(changes)
    return body


def purchase(**changes):
    body = {
        "type": "order",
        "purchase_identifiers": {"sparklayer": "cart-1", "platform": "inv-1"},
        "currency_code": "AUD",
        "packages": [{"type": "processing", "line_items": [{"sku": "A", "quantity": 2, "price": 5}]}],
    }
    body.update(changes)
    return body


# --- products -----------------------------------------------------------------------------------


def test_product_without_required_fields_is_refused_field_by_field(api):
    answer = api.call("POST", "/api/v1/products", json={"external_id": "p1", "variants": [{"sku": "A"}]})

    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    assert {e["property"] for e in answer.json()["errors"]} >= {"title", "slug", "variants[0].external_id"}


def test_external_ids_that_look_like_sparklayer_ids_are_refused(api):
    answer = api.call("POST", "/api/v1/products", json={"external_id": "pp_1", "title": "T", "slug": "t", "variants": [{"external_id": "pv_1"}]})

    assert answer.status_code == 400
    assert {e["property"] for e in answer.json()["errors"]} == {"external_id", "variants[0].external_id"}


def test_variant_status_must_be_a_known_value(api):
    api.call("POST", "/api/v1/products", json={"external_id": "p1", "title": "T", "slug": "t", "variants": [{"external_id": "v1"}]})

    assert api.call("PATCH", "/api/v1/product-variants/v1", json={"status": "deleted"}).status_code == 400
    assert api.call("PATCH", "/api/v1/product-variants/v1", json={"status": "discontinued"}).status_code == 200


# --- stock --------------------------------------------------------------------------------------


@pytest.fixture
def location(api):
    """The site's one stock location; a new site has none."""
    assert api.call("POST", "/api/v1/stock-locations", json={"name": "Default", "external_id": "default"}).status_code == 201
    return "default"


def test_a_new_site_has_no_stock_location_and_refuses_stock_until_one_is_created(api, sandbox):
    item = [{"sku": "A", "stock_location_external_id": "main", "stock_level": 3}]

    before = api.call("POST", "/api/v1/batch-update-stock", json=item)
    created = api.call("POST", "/api/v1/stock-locations", json={"name": "Main", "external_id": "main"})
    again = api.call("POST", "/api/v1/stock-locations", json={"name": "Main", "external_id": "main"})
    after = api.call("POST", "/api/v1/batch-update-stock", json=item)
    by_id = api.call("POST", "/api/v1/batch-update-stock",
                     json=[{"sku": "B", "stock_location_id": created.json()["id"], "stock_level": 1}])

    assert before.status_code == 400 and "Unknown stock location" in before.json()["errors"][0]["message"]
    assert (created.status_code, again.status_code, after.status_code, by_id.status_code) == (201, 409, 200, 200)
    assert [(s["sku"], s["stock_location_external_id"]) for s in sandbox.state("test", SITE)["stock"]] == [
        ("A", "main"), ("B", "main")]


def test_stock_with_a_repeated_sku_and_location_is_refused_whole(api, sandbox, location):
    items = [{"sku": "A", "stock_location_external_id": "default", "stock_level": n} for n in (1, 2)]

    answer = api.call("POST", "/api/v1/batch-update-stock", json=items)

    assert answer.status_code == 400
    assert answer.json()["errors"][0]["property"] == "[1].sku"
    assert sandbox.state("test", SITE)["stock"] == []


def test_stock_for_an_unknown_location_is_refused(api):
    answer = api.call("POST", "/api/v1/batch-update-stock", json=[{"sku": "A", "stock_location_external_id": "moon", "stock_level": 1}])

    assert answer.status_code == 400
    assert "Unknown stock location" in answer.json()["errors"][0]["message"]


def test_stock_level_must_be_an_integer(api, location):
    answer = api.call("POST", "/api/v1/batch-update-stock", json=[{"sku": "A", "stock_location_external_id": "default", "stock_level": "5"}])

    assert answer.status_code == 400
    assert answer.json()["errors"][0]["property"] == "[0].stock_level"


def test_stock_overwrites_only_the_pairs_sent(api, sandbox, location):
    api.call("POST", "/api/v1/batch-update-stock", json=[{"sku": s, "stock_location_external_id": "default", "stock_level": 1} for s in "AB"])
    api.call("POST", "/api/v1/batch-update-stock", json=[{"sku": "A", "stock_location_external_id": "default", "stock_level": 7}])

    assert [(s["sku"], s["stock_level"]) for s in sandbox.state("test", SITE)["stock"]] == [("A", 7), ("B", 1)]


# --- pricing ------------------------------------------------------------------------------------


def test_an_existing_price_list_slug_is_a_400(api):
    body = {"slug": "marketplacer-price", "name": "Marketplacer Price", "currency_code": "AUD"}

    assert api.call("POST", "/api/v1/price-lists", json=body).status_code == 201
    assert api.call("POST", "/api/v1/price-lists", json=body).status_code == 400


def test_pricing_for_an_unknown_list_is_a_404(api):
    assert api.call("PATCH", "/api/v1/price-lists/nope/pricing", json=[{"sku": "A", "pricing": [{"quantity": 1, "price": 1}]}]).status_code == 404


def test_invalid_pricing_answers_lines_fields_and_messages(api):
    api.call("POST", "/api/v1/price-lists", json={"slug": "p", "name": "P", "currency_code": "AUD"})

    answer = api.call("PATCH", "/api/v1/price-lists/p/pricing", json=[
        {"sku": "A", "pricing": [{"quantity": 1, "price": 1}]},
        {"sku": "B", "pricing": [{"quantity": 0, "price": "1"}]},
    ])

    assert answer.status_code == 400
    assert {(p["line"], p["field"]) for p in answer.json()} == {(2, "pricing[0].quantity"), (2, "pricing[0].price")}


def test_pricing_replaces_only_the_skus_sent(api, sandbox):
    api.call("POST", "/api/v1/price-lists", json={"slug": "p", "name": "P", "currency_code": "AUD"})
    api.call("PATCH", "/api/v1/price-lists/p/pricing", json=[{"sku": s, "pricing": [{"quantity": 1, "price": 1}, {"quantity": 10, "price": 0.9}]} for s in "AB"])
    api.call("PATCH", "/api/v1/price-lists/p/pricing", json=[{"sku": "A", "pricing": [{"quantity": 1, "price": 2}]}])

    assert sandbox.state("test", SITE)["pricing"]["p"] == {
        "A": [{"quantity": 1, "price": 2.0}],
        "B": [{"quantity": 1, "price": 1.0}, {"quantity": 10, "price": 0.9}],
    }


# --- customers ----------------------------------------------------------------------------------


def test_customer_body_must_repeat_the_path_identifier(api):
    answer = api.call("PUT", "/api/v2/customers/platform/c1", json=customer("c2"))

    assert answer.status_code == 400
    assert answer.json()["errors"][0]["code"] == "idMismatch"


def test_customer_put_creates_then_replaces_clearing_what_is_left_out(api, sandbox):
    full = customer(company_name="Ada Co", accounting_id="ACC-1", price_lists=["p"],
                    addresses=[{"address_line1": "1 St", "country_code": "AU"}])

    assert api.call("PUT", "/api/v2/customers/platform/c1", json=full).status_code == 201
    read = api.call("GET", "/api/v2/customers/platform/c1")
    assert api.call("PUT", "/api/v2/customers/platform/c1", json=customer()).status_code == 200

    assert (read.status_code, read.json()["price_lists"], read.json()["addresses"][0]["address_line1"]) == (200, ["p"], "1 St")
    stored = sandbox.state("test", SITE)["customers"]["c1"]
    assert "company_name" not in stored and "accounting_id" not in stored
    assert stored["price_lists"] == [] and stored["addresses"] == []


def test_a_customer_can_be_read_by_external_id_or_by_email_in_any_case(api):
    api.call("PUT", "/api/v2/customers/platform/c1", json=customer("c1"))

    assert api.call("GET", "/api/v2/customers/email/C1@Example.COM").json()["external_id"] == "c1"
    assert api.call("GET", "/api/v2/customers/platform/c9").status_code == 404


def test_customer_with_another_customers_email_is_a_409(api):
    api.call("PUT", "/api/v2/customers/platform/c1", json=customer("c1"))

    assert api.call("PUT", "/api/v2/customers/platform/c2", json=customer("c2", email="c1@example.com")).status_code == 409


def test_customer_group_and_parent_must_exist(api):
    assert api.call("PUT", "/api/v2/customers/platform/c1", json=customer(group="vip")).status_code == 400
    assert api.call("PUT", "/api/v2/customers/platform/c1", json=customer(parent_customer_id="ghost")).status_code == 400
    assert api.call("PUT", "/api/v2/customers/platform/c1", json=customer(group="trade", role="main")).status_code == 201


def test_customer_role_must_be_a_known_value(api):
    answer = api.call("PUT", "/api/v2/customers/platform/c1", json=customer(role="boss"))

    assert answer.status_code == 400
    assert answer.json()["errors"][0]["property"] == "role"


def test_deleting_a_customer_answers_204_then_404(api):
    api.call("PUT", "/api/v2/customers/platform/c1", json=customer())

    assert api.call("DELETE", "/api/v2/customers/platform/c1").status_code == 204
    assert api.call("DELETE", "/api/v2/customers/platform/c1").status_code == 404


# --- settings -----------------------------------------------------------------------------------


def test_settings_take_base_currency_and_refuse_other_keys(api):
    assert api.call("PATCH", "/api/v1/settings", json=[{"key": "baseCurrency", "value": "AUD"}]).status_code == 204
    assert api.call("PATCH", "/api/v1/settings", json=[{"key": "apiSecret", "value": "x"}]).status_code == 400
    assert {"key": "baseCurrency", "value": "AUD"} in api.call("GET", "/api/v1/settings").json()


def test_settings_refuse_dashboard_api_keys(api, sandbox, server):
    from ignite_etl_tests.sandbox.sparklayer.conftest import SECRET, Api

    sandbox.add_site("test", "dash", "bob", SECRET, settings_api_allowed=False)
    answer = Api(server.url, site_id="dash").call("PATCH", "/api/v1/settings", json=[{"key": "baseCurrency", "value": "AUD"}])

    assert answer.status_code == 403
    assert answer.json()["detail"] == "Global settings unavailable for updates, please contact support"


# --- purchases ----------------------------------------------------------------------------------


def test_purchase_put_creates_then_replaces_the_whole_purchase(api, sandbox):
    assert api.call("PUT", "/api/v1/purchases/sparklayer/cart-1", json=purchase()).status_code == 201
    shipped = purchase(packages=[{"type": "shipment", "line_items": [{"sku": "A", "quantity": 1, "price": 5}]}])
    assert api.call("PUT", "/api/v1/purchases/platform/inv-1", json=shipped).status_code == 200

    (stored,) = sandbox.state("test", SITE)["purchases"].values()
    assert [p["type"] for p in stored["packages"]] == ["shipment"]
    assert stored["total"] == 5


def test_purchase_refuses_calculated_fields_and_unknown_types(api):
    assert api.call("PUT", "/api/v1/purchases/sparklayer/cart-1", json=purchase(total=10)).status_code == 400
    assert api.call("PUT", "/api/v1/purchases/sparklayer/cart-1", json=purchase(type="invoice")).status_code == 400
    bad_package = purchase(packages=[{"type": "return", "line_items": [{"sku": "A", "quantity": 1, "price": 5}]}])
    assert api.call("PUT", "/api/v1/purchases/sparklayer/cart-1", json=bad_package).status_code == 400
    assert api.call("PUT", "/api/v1/purchases/email/x", json=purchase()).status_code == 400


def test_changing_a_purchases_sparklayer_id_is_a_403(api):
    api.call("PUT", "/api/v1/purchases/sparklayer/cart-1", json=purchase())

    moved = purchase(purchase_identifiers={"sparklayer": "cart-2", "platform": "inv-1"})
    assert api.call("PUT", "/api/v1/purchases/platform/inv-1", json=moved).status_code == 403


def test_a_purchase_taking_another_purchases_identifier_is_a_409(api):
    api.call("PUT", "/api/v1/purchases/sparklayer/cart-1", json=purchase())

    other = purchase(purchase_identifiers={"sparklayer": "cart-2", "platform": "inv-1"})
    assert api.call("PUT", "/api/v1/purchases/sparklayer/cart-2", json=other).status_code == 409


# --- sync log -----------------------------------------------------------------------------------


def test_sync_log_refuses_repeated_external_ids_and_more_than_5000_errors(api):
    twice = {"errors": [{"external_id": "x", "message": "m"}] * 2}
    too_many = {"errors": [{"external_id": f"e{n}", "message": "m"} for n in range(5001)]}

    assert api.call("PUT", "/api/v1/sync-log/marketplacer/products", json=twice).status_code == 400
    assert api.call("PUT", "/api/v1/sync-log/marketplacer/products", json=too_many).status_code == 400
    assert api.call("PUT", "/api/v1/sync-log/marketplacer/orders", json={}).status_code == 400


def test_sync_log_status_is_404_before_the_first_full_sync(api):
    assert api.call("GET", "/api/v1/sync-log/marketplacer/products").status_code == 404


def test_full_sync_log_replaces_errors_and_clears_timestamps_left_out(api):
    path = "/api/v1/sync-log/marketplacer/products"
    api.call("PUT", path, json={"started_full_sync": "2025-01-01T00:00:00+00:00", "last_full_sync": "2025-01-01T01:00:00+00:00",
                                "errors": [{"external_id": "variant:1", "message": "no SKU"}]})
    api.call("PUT", path, json={"started_full_sync": "2025-01-02T00:00:00+00:00", "errors": [{"external_id": "variant:2", "message": "no SKU"}]})

    status = api.call("GET", path + "/errors").json()
    assert status["last_full_sync"] is None
    assert [e["external_id"] for e in status["errors"]] == ["variant:2"]


def test_partial_sync_log_keeps_adds_and_resolves_errors(api):
    path = "/api/v1/sync-log/marketplacer/customers"
    api.call("PUT", path, json={"errors": [{"external_id": "customer:1", "message": "m"}, {"external_id": "customer:2", "message": "m"}]})

    answer = api.call("PATCH", path, json={"last_partial_sync": "2025-01-01T00:00:00+00:00", "resolved_external_ids": ["customer:1"],
                                           "errors": [{"external_id": "customer:3", "message": "line 1 is empty"}]})

    status = api.call("GET", path + "/errors").json()
    assert answer.status_code == 204
    assert sorted(e["external_id"] for e in status["errors"]) == ["customer:2", "customer:3"]
    assert status["last_partial_sync"] == "2025-01-01T00:00:00+00:00"


def test_deleting_sync_logs_clears_every_integration_and_data_type(api):
    for data_type in ("products", "customers"):
        api.call("PUT", f"/api/v1/sync-log/marketplacer/{data_type}", json={})

    assert api.call("DELETE", "/api/v1/sync-log").status_code == 204
    assert api.call("GET", "/api/v1/sync-log/marketplacer/products").status_code == 404
    assert api.call("GET", "/api/v1/sync-log/marketplacer/customers").status_code == 404
