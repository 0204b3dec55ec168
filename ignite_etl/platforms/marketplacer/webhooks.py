"""Marketplacer webhook verification: the signature is checked in constant time before the body is read."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping

from ignite_etl.model import WebhookEvent, WebhookObjectType
from ignite_etl.platforms.base import WebhookRejected

SIGNATURE_HEADER = "marketplacer-hmac-256"
OBJECT_TYPES: dict[str, WebhookObjectType] = {
    "Advert": "product", "UnpublishedAdvert": "product", "DeletedAdvert": "product",
    "Variant": "variant", "Invoice": "order", "Order": "order",
    # a shipment or refund changes its invoice: the payload names it (queries.WEBHOOK_QUERY)
    "Shipment": "order", "RefundRequest": "order",
}


def new_hmac_key() -> str:
    return secrets.token_urlsafe(32)


def signature(raw_body: bytes, key: str) -> str:
    return base64.b64encode(hmac.new(key.encode(), raw_body, hashlib.sha256).digest()).decode()


def verify_webhook(headers: Mapping[str, str], raw_body: bytes, key: str) -> WebhookEvent:
    """The event a signed delivery names; `WebhookRejected` for a missing or wrong signature or a bad body."""
    lowered = {name.lower(): value for name, value in headers.items()}
    given = lowered.get(SIGNATURE_HEADER)
    if not given:
        raise WebhookRejected("The delivery has no Marketplacer-Hmac-256 header")
    if not key or not hmac.compare_digest(given.strip().encode(), signature(raw_body, key).encode()):
        raise WebhookRejected("The delivery's Marketplacer-Hmac-256 signature does not match")
    try:
        body = json.loads(raw_body)
        node = ((body.get("payload") or {}).get("data") or {}).get("node") or {}
        event_name = str(body["event_name"])
    except (ValueError, KeyError, TypeError, AttributeError):
        raise WebhookRejected("The delivery's body is not a Marketplacer webhook event") from None
    sequence = lowered.get("marketplacer-sequence")
    platform_type = str(node.get("__typename") or "")
    invoice = node.get("invoice") if isinstance(node.get("invoice"), dict) else None
    object_id = (invoice or {}).get("id") if platform_type in ("Shipment", "RefundRequest") else node.get("id")
    return WebhookEvent(
        object_type=OBJECT_TYPES.get(platform_type, "other"),
        platform_type=platform_type,
        object_id=str(object_id or ""),
        event_name=event_name,
        sequence=int(sequence) if sequence and sequence.isdigit() else None,
        idempotency_key=lowered.get("idempotency-key") or str(body.get("id") or ""),
        event_id=body.get("id"),
    )
