"""Ignite's customer endpoints over real HTTP: routed through the registry to the connection's platform, a
clear 501 where the platform keeps no customers (Marketplacer), problems SparkLayer can act on otherwise."""

from __future__ import annotations

import pytest

from ignite_etl.platforms import register, unregister
from ignite_etl_tests.platforms import fakeshop

from .conftest import SITE_PATH
from .test_connections import connect_body, platform_body

CUSTOMERS = f"{SITE_PATH}/customers"
VERIFY = f"{SITE_PATH}/authentication/verify"
ALICE = {"email": "alice@bobs.test", "first_name": "Alice", "last_name": "Archer", "company_name": "Archer Ltd",
         "price_lists": ["trade"], "customer_discount_percentage": 5, "role": "main"}


@pytest.fixture
def fake_store():
    fakeshop.STORES["s1"] = fakeshop.FakeStore()
    register(fakeshop.SPEC)
    yield fakeshop.STORES["s1"]
    unregister(fakeshop.NAME)
    fakeshop.STORES.clear()


@pytest.fixture
def fakeshop_connection(ingress, fake_store):
    body = connect_body(platform="fakeshop", fake_store="s1", fake_api_key=fakeshop.GOOD_KEY, currency="NZD")
    assert ingress.client.post(SITE_PATH, json=body).json()["status"] == "connected"
    return fake_store


def test_a_customer_is_created_on_the_platform_and_updated_by_email(ingress, fakeshop_connection):
    created = ingress.client.put(CUSTOMERS, json=ALICE)
    assert created.status_code == 201
    customer_id = created.json()["customer_external_id"]
    assert fakeshop_connection.customers[customer_id]["company_name"] == "Archer Ltd"

    updated = ingress.client.put(CUSTOMERS, json={**ALICE, "last_name": "Archer-Bow", "company_name": None,
                                                  "a_field_sparklayer_adds_later": 1})
    assert updated.status_code == 201
    assert updated.json() == {"customer_external_id": customer_id}
    assert fakeshop_connection.customers[customer_id]["last_name"] == "Archer-Bow"
    assert len(fakeshop_connection.customers) == 1


@pytest.mark.parametrize(("change", "prop"), [
    ({"email": "not-an-email"}, "email"),
    ({"first_name": ""}, "first_name"),
    ({"last_name": None}, "last_name"),
    ({"role": "owner"}, "role"),
    ({"customer_discount_percentage": 150}, "customer_discount_percentage"),
    ({"sales_agent_groups": "north"}, "sales_agent_groups"),
])
def test_an_invalid_customer_gets_a_problem_naming_the_field_and_reaches_no_platform(ingress, fakeshop_connection,
                                                                                   change, prop):
    answer = ingress.client.put(CUSTOMERS, json={**ALICE, **change})
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    assert [e["property"] for e in answer.json()["errors"]] == [prop]
    assert fakeshop_connection.customers == {}


def test_a_customer_the_platform_refuses_is_422_with_its_reason(ingress, fakeshop_connection):
    answer = ingress.client.put(CUSTOMERS, json={**ALICE, "email": "eve@blocked.test"})
    assert answer.status_code == 422
    assert "FakeShop refused the customer: FakeShop does not accept customers of blocked.test" in answer.json()["detail"]


def test_a_customer_session_is_verified_by_the_platform(ingress, fakeshop_connection):
    fakeshop_connection.sessions["session-abc"] = "c7"
    assert ingress.client.post(VERIFY, json={"token": "session-abc"}).json() == {"customer_external_id": "c7"}

    forged = ingress.client.post(VERIFY, json={"token": "session-forged"})
    assert forged.status_code == 401
    assert "not a valid customer session of the FakeShop store" in forged.json()["detail"]
    assert ingress.client.post(VERIFY, json={}).json()["errors"][0]["property"] == "token"


def test_marketplacer_keeps_no_customers_so_both_calls_answer_501(ingress):
    assert ingress.client.post(SITE_PATH, json=platform_body()).json()["status"] == "connected"
    for answer in (ingress.client.put(CUSTOMERS, json=ALICE), ingress.client.post(VERIFY, json={"token": "t"})):
        assert answer.status_code == 501
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["detail"].startswith("Marketplacer keeps no customers SparkLayer can create or sign in")


def test_customer_calls_need_the_bearer_token_and_a_known_complete_connection(ingress, fake_store):
    assert ingress.anonymous().put(CUSTOMERS, json=ALICE).status_code == 401
    assert ingress.client.put(CUSTOMERS, json=ALICE).status_code == 404
    assert ingress.client.post(SITE_PATH, json=connect_body(platform="fakeshop")).json()["status"] == "pending"
    pending = ingress.client.put(CUSTOMERS, json=ALICE)
    assert pending.status_code == 409
    assert "not complete yet" in pending.json()["detail"]
    assert fake_store.customers == {}
