"""Shopify webhook verification: `X-Shopify-Hmac-Sha256` is the base64 HMAC-SHA256 of the raw body with the
app's client secret, checked in constant time before anything else is read (shopify-api.md §3.4)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping

from ignite_etl.model import WebhookEvent, WebhookObjectType
from ignite_etl.platforms.base import PrivacyKind, PrivacyRequest, WebhookMalformed, WebhookRejected
from ignite_etl.platforms.shopify.settings import shop_domain

SIGNATURE_HEADER = "x-shopify-hmac-sha256"
MAX_ID_LENGTH = 255
TOPICS: dict[str, WebhookObjectType] = {
    "products/create": "product", "products/update": "product", "products/delete": "product",
    "inventory_levels/update": "stock", "shop/update": "settings", "app/uninstalled": "uninstalled",
    "customers/create": "customer", "customers/update": "customer", "customers/delete": "customer",
    "orders/create": "order", "orders/updated": "order", "orders/cancelled": "order",
    "fulfillments/create": "order", "fulfillments/update": "order", "refunds/create": "order",
    **{f"{resource}/{action}": "customer" for resource in ("companies", "company_contacts", "company_locations")
       for action in ("create", "update", "delete")},
}
B2B_TOPICS = ("companies/", "company_contacts/", "company_locations/")
"""A company's, contact's or location's change changes its contacts' customers; `B2B_OBJECT` + the object's id
is queued, and the partial sync reads the customers it has now."""
B2B_OBJECT = "b2b:"
OF_AN_ORDER = ("fulfillments/", "refunds/")
"""Topics whose payload is a part of an order: the order (`order_id`) is what changed."""


def signature(raw_body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), raw_body, hashlib.sha256).digest()).decode()


def verify_signature(headers: Mapping[str, str], raw_body: bytes, secret: str) -> dict[str, str]:
    """The headers, lower-cased, once the signature holds; `WebhookRejected` otherwise."""
    lowered = {name.lower(): value for name, value in headers.items()}
    given = (lowered.get(SIGNATURE_HEADER) or "").strip()
    if not given:
        raise WebhookRejected("The delivery has no X-Shopify-Hmac-Sha256 header")
    if not secret or not raw_body or not hmac.compare_digest(given.encode(), signature(raw_body, secret).encode()):
        raise WebhookRejected("The delivery's X-Shopify-Hmac-Sha256 signature does not match")
    return lowered


def verify_webhook(headers: Mapping[str, str], raw_body: bytes, key: str) -> WebhookEvent:
    """The change a signed delivery names. The object id is the product's for product topics,
    `inventory_item:<id>` for `inventory_levels/update` (its product is looked up when the change is synced) and
    the order's for an order's fulfillments and refunds.

    The idempotency key is the digest of the topic, `X-Shopify-Event-Id` and the signed body. Every delivery of
    one event (Shopify's retries, one per subscription) shares all three, so duplicates are dropped as
    Shopify's duplicate guide does (SH §3.3); two events whose bodies are alike (a REST payload leaves out
    metafields, and its times are whole seconds) differ in event id, so the second change is not lost. A
    replay under a new event id is queued again, which is harmless: the partial sync reads the record as it
    is now. `X-Shopify-Webhook-Id` is kept as the event id for the record."""
    lowered = verify_signature(headers, raw_body, key)
    topic = lowered.get("x-shopify-topic", "")
    try:
        body = json.loads(raw_body)
        if not isinstance(body, dict):
            raise TypeError
    except (ValueError, TypeError, RecursionError):
        raise WebhookMalformed("The delivery is signed but its body is not a Shopify webhook payload") from None
    object_type = TOPICS.get(topic, "other")
    if object_type == "stock":
        item = body.get("inventory_item_id")
        object_id = f"inventory_item:{item}" if isinstance(item, str | int) and not isinstance(item, bool) else item
    elif object_type in ("settings", "uninstalled"):
        object_id = lowered.get("x-shopify-shop-domain") or body.get("myshopify_domain") or body.get("domain") or "shop"
    elif topic.startswith(OF_AN_ORDER):
        object_id = body.get("order_id")
    elif topic.startswith(B2B_TOPICS):
        # only `admin_graphql_api_id` is relied on: the rest of these payloads is not published
        named = body.get("admin_graphql_api_id")
        object_id = f"{B2B_OBJECT}{named}" if isinstance(named, str) and named.startswith("gid://shopify/") else None
        object_type = object_type if object_id else "other"
    else:
        object_id = body.get("id")
    webhook_id = lowered.get("x-shopify-webhook-id")
    for name, value in (("topic", topic), ("object id", object_id), ("webhook id", webhook_id)):
        if value is not None and (not isinstance(value, str | int) or isinstance(value, bool)
                                  or not _readable(str(value))):
            raise WebhookMalformed(f"The delivery's {name} is not a readable identifier")
    if object_id is None and object_type != "other":
        raise WebhookMalformed(f"The {topic} delivery names no object")
    return WebhookEvent(
        object_type=object_type, platform_type=topic, object_id=str(object_id or ""), event_name=topic or "unknown",
        idempotency_key="sha256:" + hashlib.sha256(
            f"{topic}\n{lowered.get('x-shopify-event-id', '')}\n".encode() + raw_body).hexdigest(),
        event_id=webhook_id,
    )


def _readable(value: str) -> bool:
    return 0 < len(value) <= MAX_ID_LENGTH and value.isprintable()


PRIVACY_KINDS: dict[str, PrivacyKind] = {"customers/data_request": "customer_data_request",
                                         "customers/redact": "customer_redact", "shop/redact": "store_redact"}


def verify_privacy_webhook(headers: Mapping[str, str], raw_body: bytes, app: Mapping[str, str]) -> PrivacyRequest:
    """One of the three mandatory compliance webhooks (shopify-api.md §3.5), signed with the app's client
    secret: `WebhookRejected` (answered 401, as Shopify requires) when the signature does not hold."""
    lowered = verify_signature(headers, raw_body, app.get("client_secret") or "")
    topic = lowered.get("x-shopify-topic", "")
    try:
        body = json.loads(raw_body)
        if not isinstance(body, dict):
            raise TypeError
        kind = PRIVACY_KINDS[topic]
    except (ValueError, TypeError, KeyError, RecursionError):
        raise WebhookMalformed("The delivery is signed but is not a Shopify privacy request") from None
    shop = shop_domain(str(body.get("shop_domain") or ""))
    if shop is None:
        raise WebhookMalformed("The privacy request names no myshopify.com shop")
    customer = body.get("customer")
    customer_id = customer.get("id") if isinstance(customer, dict) else None
    if customer_id is not None and (isinstance(customer_id, bool) or not isinstance(customer_id, str | int)
                                    or not _readable(str(customer_id))):
        raise WebhookMalformed("The privacy request's customer id is not a readable identifier")
    orders = body.get("orders_to_redact") or []
    if not isinstance(orders, list) or not all(isinstance(o, str | int) and not isinstance(o, bool)
                                               and _readable(str(o)) for o in orders):
        raise WebhookMalformed("The privacy request's orders_to_redact is not a list of order ids")
    return PrivacyRequest(kind=kind, store_id=shop, customer_id=str(customer_id) if customer_id is not None else None,
                          idempotency_key="sha256:" + hashlib.sha256(topic.encode() + b"\n" + raw_body).hexdigest(),
                          order_ids=tuple(str(o) for o in orders))
