"""Shopify's mandatory compliance webhooks at the ingress: signed with the app's client secret (401 otherwise,
as Shopify requires), recorded once with ids only, and a store's redaction forgets its installation and
removes any connection of the store."""

from __future__ import annotations

import json

from ignite_etl.platforms.shopify.webhooks import signature
from ignite_etl.store.database import connect

from .conftest import SHOPIFY_APP

SHOP = "bobs-kettles.myshopify.com"
PATH = "/webhooks/shopify/privacy"
SITE_PATH = "/v1/live/bobs-kettles"


def deliver(ingress, topic: str, body: dict, secret: str = SHOPIFY_APP["client_secret"]):
    raw = json.dumps(body).encode()
    return ingress.anonymous().post(PATH, content=raw, headers={
        "Content-Type": "application/json", "X-Shopify-Topic": topic, "X-Shopify-Shop-Domain": SHOP,
        "X-Shopify-Hmac-Sha256": signature(raw, secret), "X-Shopify-Webhook-Id": "wh-1"})


def test_a_request_not_signed_with_the_apps_secret_is_401_and_recorded_nowhere(ingress):
    answer = deliver(ingress, "customers/redact", {"shop_domain": SHOP, "customer": {"id": 7}}, secret="forged")

    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"
    assert ingress.rows("select * from privacy_request") == []


def test_a_customer_redaction_is_recorded_once_with_its_ids_only(ingress):
    body = {"shop_id": 1, "shop_domain": SHOP, "customer": {"id": 207119551, "email": "jo@example.com",
                                                              "phone": "555-625-1199"}, "orders_to_redact": [299938]}

    first = deliver(ingress, "customers/redact", body)
    again = deliver(ingress, "customers/redact", body)

    assert (first.status_code, first.json()["recorded"]) == (200, True)
    assert (again.status_code, again.json()["recorded"]) == (200, False)
    [row] = ingress.rows("select * from privacy_request")
    assert (row["platform"], row["store_id"], row["kind"], row["customer_id"]) == (
        "shopify", SHOP, "customer_redact", "207119551")
    assert row["done_at"] is not None
    assert "jo@example.com" not in json.dumps(row, default=str)


def test_a_store_redaction_forgets_its_installation_and_removes_its_connection(ingress):
    connected = ingress.client.post(SITE_PATH, json={
        "store_id": SHOP, "spark_api_client_id": "c", "spark_api_client_secret": "s",
        "extra_config": {"platform": "shopify", "shop": SHOP, "access_token": "shpat_custom"}})
    assert connected.json()["status"] == "connected"
    with connect(ingress.database_url) as conn:
        conn.execute("insert into installation (platform, store_id, platform_credentials) values "
                     "('shopify', %s, 'sealed'::bytea), ('shopify', 'other.myshopify.com', null)", (SHOP,))

    answer = deliver(ingress, "shop/redact", {"shop_id": 1, "shop_domain": SHOP})

    assert answer.status_code == 200 and answer.json() == {"recorded": True, "removal": ["live-bobs-kettles"], "recheck": []}
    assert [r["store_id"] for r in ingress.rows("select store_id from installation")] == ["other.myshopify.com"]
    assert ingress.rows("select status from connection")[0]["status"] == "removing"
    assert [r["kind"] for r in ingress.rows("select kind from connection_request order by id")] == ["connect", "remove"]


def test_a_signed_request_that_is_not_a_privacy_request_is_400(ingress):
    assert deliver(ingress, "customers/redact", {"customer": {"id": 1}}).status_code == 400
    assert deliver(ingress, "customers/redact", {"shop_domain": SHOP, "customer": {"id": 1},
                                                 "orders_to_redact": "all"}).status_code == 400
    assert deliver(ingress, "orders/create", {"shop_domain": SHOP}).status_code == 400


def test_a_platform_without_privacy_requests_has_no_such_address(ingress):
    assert ingress.anonymous().post("/webhooks/marketplacer/privacy", json={}).status_code == 404
