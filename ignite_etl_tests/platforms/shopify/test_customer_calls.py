"""SparkLayer's customer calls on Shopify: a customer SparkLayer creates or updates is a B2B customer of the shop
with `sparklayer` metafields the sync reads back as SparkLayer sent them, and a customer session is the signed
query of an app proxy request, checked for its signature, shop and age."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from ignite_etl.model import CustomerRequest
from ignite_etl.platforms import InvalidConfiguration, InvalidSession

ALICE = CustomerRequest(email="alice@archer.test", first_name="Alice", last_name="Archer", company_name="Archer Ltd",
                        price_lists=("trade",), customer_discount_percentage=Decimal("7.5"), group="trade",
                        role="main", sales_agent_groups=("north",))


def read_back(platform, customer_id: str):
    [customer] = platform.fetch_customers([customer_id])
    return customer


def test_a_new_customer_is_created_as_a_b2b_customer_and_syncs_back_as_sparklayer_sent_it(sandbox, connect):
    platform = connect()

    customer_id = platform.upsert_customer(ALICE)

    record = sandbox.shop.customers[int(customer_id)]
    assert record.tags == ["b2b"] and (record.email, record.first_name) == ("alice@archer.test", "Alice")
    assert {k: (m.type, m.value) for k, m in record.metafields.items()} == {
        "company_name": ("single_line_text_field", "Archer Ltd"), "group": ("single_line_text_field", "trade"),
        "price_lists": ("json", '["trade"]'), "discount_percentage": ("number_decimal", "7.5")}
    back = read_back(platform, customer_id)
    assert (back.external_id, back.email, back.company_name, back.group) == (customer_id, ALICE.email, "Archer Ltd",
                                                                           "trade")
    assert back.price_lists == ("trade",) and back.discount_percentage == Decimal("7.5")


def test_an_existing_customer_is_updated_by_email_keeping_its_tags_and_what_sparklayer_leaves_out(sandbox, connect):
    known = sandbox.add_customer("Alice@Archer.test", first_name="Al", last_name="A", tags=["newsletter"],
                                 metafields={"title": ("single_line_text_field", "Buyer")})
    platform = connect()

    customer_id = platform.upsert_customer(CustomerRequest(email="alice@archer.test", first_name="Alice",
                                                           last_name="Archer", group="trade"))

    assert customer_id == str(known) and len(sandbox.shop.customers) == 1
    record = sandbox.shop.customers[known]
    assert record.tags == ["newsletter", "b2b"] and (record.first_name, record.last_name) == ("Alice", "Archer")
    assert {k: m.value for k, m in record.metafields.items()} == {"title": "Buyer", "group": "trade"}
    assert read_back(platform, customer_id).title == "Buyer"


@pytest.fixture
def signed_in(sandbox):
    return sandbox.add_customer("bob@archer.test", first_name="Bob", last_name="Bow", tags=["b2b"])


def test_a_signed_app_proxy_query_names_the_signed_in_customer(sandbox, connect, signed_in):
    platform = connect()

    assert platform.verify_customer_session(sandbox.app_proxy_query(signed_in)) == str(signed_in)
    assert platform.verify_customer_session("?" + sandbox.app_proxy_query(signed_in)) == str(signed_in)


@pytest.mark.parametrize("forge", [
    pytest.param(lambda sb, c: sb.app_proxy_query(c, secret="another-apps-secret"), id="another-secret"),
    pytest.param(lambda sb, c: sb.app_proxy_query(c).replace(f"logged_in_customer_id={c}",
                                                            f"logged_in_customer_id={c + 1}"), id="customer-changed"),
    pytest.param(lambda sb, c: sb.app_proxy_query(c, at=time.time() - 600), id="ten-minutes-old"),
    pytest.param(lambda sb, c: sb.app_proxy_query(None), id="nobody-signed-in"),
    pytest.param(lambda sb, c: sb.app_proxy_query(c) + "&signature=0", id="signature-repeated"),
    pytest.param(lambda sb, c: sb.app_proxy_query(c) + f"&logged_in_customer_id={c + 1}", id="customer-repeated"),
    pytest.param(lambda sb, c: "not a query", id="not-a-query"),
])
def test_a_forged_stale_or_anonymous_proxy_query_is_no_session(sandbox, connect, signed_in, forge):
    platform = connect()

    with pytest.raises(InvalidSession):
        platform.verify_customer_session(forge(sandbox, signed_in))


def test_a_proxy_query_signed_for_another_shop_is_no_session(sandbox, connect, signed_in):
    other = sandbox.app_proxy_query(signed_in)
    sandbox.shop.domain = "someone-else.myshopify.com"  # the same app, installed on another shop
    forged = sandbox.app_proxy_query(signed_in)
    sandbox.shop.domain = "sandbox.myshopify.com"
    platform = connect()

    assert platform.verify_customer_session(other) == str(signed_in)
    with pytest.raises(InvalidSession, match="another shop"):
        platform.verify_customer_session(forged)


def test_without_the_apps_client_secret_no_session_can_be_checked(sandbox, connect, signed_in):
    platform = connect(app={"client_id": sandbox.app.client_id})

    with pytest.raises(InvalidConfiguration, match="IGNITE_APP_SHOPIFY_CLIENT_SECRET"):
        platform.verify_customer_session(sandbox.app_proxy_query(signed_in))
