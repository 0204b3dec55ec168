"""Shopify webhooks: subscriptions made through the Admin API, and every delivery verified on its raw body
with the app's client secret before it is read."""

from __future__ import annotations

import json

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ignite_etl.platforms import InvalidConfiguration, WebhookMalformed, WebhookRejected
from ignite_etl.platforms.shopify import queries, verify_webhook
from ignite_etl.platforms.shopify.webhooks import signature
from ignite_etl.sandbox.server import BackgroundServer

SECRET = "app-client-secret"


def delivery(topic: str, body: dict, *, secret: str = SECRET, webhook_id: str = "wh-1",
             event_id: str = "ev-1") -> tuple[dict, bytes]:
    raw = json.dumps(body).encode()
    return {"X-Shopify-Topic": topic, "X-Shopify-Hmac-Sha256": signature(raw, secret),
            "X-Shopify-Shop-Domain": "bobs.myshopify.com", "X-Shopify-Webhook-Id": webhook_id,
            "X-Shopify-Event-Id": event_id}, raw


def test_a_product_delivery_names_its_product():
    event = verify_webhook(*delivery("products/update", {"id": 632910392, "title": "IPod"}), SECRET)

    assert (event.object_type, event.object_id, event.event_name) == ("product", "632910392", "products/update")


def test_a_stock_delivery_names_its_inventory_item():
    event = verify_webhook(*delivery("inventory_levels/update", {"inventory_item_id": 271878346, "location_id": 1}),
                           SECRET)

    assert (event.object_type, event.object_id) == ("stock", "inventory_item:271878346")


@pytest.mark.parametrize(("topic", "body"), [
    ("orders/create", {"id": 450789469, "name": "#1001"}), ("orders/updated", {"id": 450789469}),
    ("orders/cancelled", {"id": 450789469}), ("fulfillments/create", {"id": 255858046, "order_id": 450789469}),
    ("fulfillments/update", {"id": 255858046, "order_id": 450789469}),
    ("refunds/create", {"id": 509562969, "order_id": 450789469}),
])
def test_an_order_its_fulfillments_and_refunds_name_the_order(topic, body):
    event = verify_webhook(*delivery(topic, body), SECRET)

    assert (event.object_type, event.object_id) == ("order", "450789469")


@pytest.mark.parametrize(("topic", "kind"), [("companies/update", "Company"), ("company_contacts/create", "CompanyContact"),
                                            ("company_locations/delete", "CompanyLocation")])
def test_a_company_contact_or_location_delivery_names_its_object_for_its_customers(topic, kind):
    event = verify_webhook(*delivery(topic, {"admin_graphql_api_id": f"gid://shopify/{kind}/42", "name": "x"}), SECRET)

    assert (event.object_type, event.object_id) == ("customer", f"b2b:gid://shopify/{kind}/42")


def test_a_company_delivery_without_its_graphql_id_is_not_queued():
    event = verify_webhook(*delivery("companies/update", {"id": 42, "name": "x"}), SECRET)

    assert event.object_type == "other"


@pytest.mark.parametrize(("topic", "kind"), [("shop/update", "settings"), ("app/uninstalled", "uninstalled")])
def test_shop_deliveries_name_the_shop(topic, kind):
    event = verify_webhook(*delivery(topic, {"id": 1, "currency": "NZD"}), SECRET)

    assert (event.object_type, event.object_id) == (kind, "bobs.myshopify.com")


def test_a_wrong_or_missing_signature_is_rejected_before_the_body_is_read():
    headers, raw = delivery("products/update", {"id": 1}, secret="someone-else")

    with pytest.raises(WebhookRejected):
        verify_webhook(headers, raw, SECRET)
    with pytest.raises(WebhookRejected):
        verify_webhook({k: v for k, v in headers.items() if "Hmac" not in k}, b"not json", SECRET)


def test_a_signed_body_that_is_not_a_payload_is_malformed():
    raw = b"[1, 2]"
    headers = {"X-Shopify-Topic": "products/update", "X-Shopify-Hmac-Sha256": signature(raw, SECRET)}

    with pytest.raises(WebhookMalformed):
        verify_webhook(headers, raw, SECRET)


def test_every_delivery_of_one_event_has_one_idempotency_key_and_another_event_another():
    body = {"id": 1, "updated_at": "2026-11-30T10:00:00Z"}
    first = verify_webhook(*delivery("products/update", body), SECRET)
    retried = verify_webhook(*delivery("products/update", body, webhook_id="wh-1"), SECRET)
    other_subscription = verify_webhook(*delivery("products/update", body, webhook_id="wh-2"), SECRET)
    later = verify_webhook(*delivery("products/update", {**body, "updated_at": "2026-11-30T10:05:00Z"},
                                     event_id="ev-2"), SECRET)
    # a metafield edit in the same second: the REST body is alike, the event is not
    alike = verify_webhook(*delivery("products/update", body, event_id="ev-3"), SECRET)

    assert first.idempotency_key == retried.idempotency_key == other_subscription.idempotency_key
    assert len({first.idempotency_key, later.idempotency_key, alike.idempotency_key}) == 3
    assert first.event_id == "wh-1"


class Receiver:
    def __init__(self):
        self.received: list[tuple[dict, bytes]] = []

        async def receive(request: Request) -> Response:
            self.received.append((dict(request.headers), await request.body()))
            return Response(status_code=200)

        self.app = Starlette(routes=[Route("/hook", receive, methods=["POST"])])


def test_registration_subscribes_each_topic_once_and_makes_missing_ones_again(sandbox, connect, app):
    platform = connect()
    url = "http://127.0.0.1:1/webhooks/shopify/live-site"

    registration = platform.register_webhooks(url)
    again = platform.register_webhooks(url, registration)
    lost = next(iter(sandbox.subscriptions))
    sandbox.subscriptions.pop(lost)  # Shopify removed it after failed deliveries
    mended = platform.register_webhooks(url, again)

    assert registration.key == app["client_secret"]
    assert sorted(registration.state["ids"]) == sorted(queries.WEBHOOK_TOPICS)
    assert again is registration
    assert mended is not registration and len(sandbox.subscriptions) == len(queries.WEBHOOK_TOPICS)
    assert {s.callback_url for s in sandbox.subscriptions.values()} == {url}


def test_moving_the_address_retires_the_old_subscriptions(sandbox, connect):
    platform = connect()
    old = platform.register_webhooks("http://127.0.0.1:1/old")

    platform.register_webhooks("http://127.0.0.1:1/new", old)

    assert {s.callback_url for s in sandbox.subscriptions.values()} == {"http://127.0.0.1:1/new"}


def test_a_delivery_from_the_registered_subscription_verifies(sandbox, connect, app):
    receiver = Receiver()
    with BackgroundServer(receiver.app) as hook:
        registration = connect().register_webhooks(hook.url + "/hook")
        product = sandbox.add_product("Hooked", [{"sku": "H-1", "price": "1.00"}])
        variant = sandbox.shop.products[product].variant_ids[0]
        sandbox.set_stock(variant, 9)
        sandbox.deliver_webhooks()

    events = [verify_webhook(headers, body, registration.key) for headers, body in receiver.received]
    assert [(e.object_type, e.object_id) for e in events] == [
        ("product", str(product)), ("stock", f"inventory_item:{sandbox.shop.variants[variant].inventory_item_id}")]


def test_without_the_apps_secret_there_is_nothing_to_verify_with(connect):
    with pytest.raises(InvalidConfiguration, match="CLIENT_SECRET"):
        connect(app={}).register_webhooks("http://127.0.0.1:1/hook")
