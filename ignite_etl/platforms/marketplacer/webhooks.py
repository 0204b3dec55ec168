"""Marketplacer webhook verification: the signature is checked in constant time before the body is read."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping

from ignite_etl.model import WebhookEvent, WebhookObjectType
from ignite_etl.platforms.base import WebhookMalformed, WebhookRejected

SIGNATURE_HEADER = "marketplacer-hmac-256"
MAX_ID_LENGTH = 255
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
    """The event a signed delivery names; `WebhookRejected` for a missing or wrong signature, `WebhookMalformed`
    for a signed body that is not a readable event."""
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
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        raise WebhookMalformed("The delivery is signed but its body is not a Marketplacer webhook event") from None
    platform_type = str(node.get("__typename") or "")
    invoice = node.get("invoice") if isinstance(node.get("invoice"), dict) else None
    object_id = (invoice or {}).get("id") if platform_type in ("Shipment", "RefundRequest") else node.get("id")
    event_id = body.get("id")
    for name, value in (("event_name", event_name), ("node id", object_id), ("event id", event_id)):
        if value is not None and (not isinstance(value, str | int) or not _readable(str(value))):
            raise WebhookMalformed(f"The delivery's {name} is not a readable identifier")
    return WebhookEvent(
        object_type=OBJECT_TYPES.get(platform_type, "other"),
        platform_type=platform_type,
        object_id=str(object_id or ""),
        event_name=event_name,
        sequence=_sequence(lowered.get("marketplacer-sequence")),
        # the body's event id is signed, the Idempotency-Key header is not: a captured delivery replayed
        # under a new header is the same event
        idempotency_key=str(event_id) if event_id else "sha256:" + hashlib.sha256(raw_body).hexdigest(),
        event_id=event_id,
    )


def _readable(value: str) -> bool:
    return 0 < len(value) <= MAX_ID_LENGTH and value.isprintable()


def _sequence(value: str | None) -> int | None:
    """Marketplacer-Sequence (diagnostic only, and unsigned): a number Postgres can keep, else nothing."""
    if not value or not value.isascii() or not value.isdigit() or len(value) > 18:
        return None
    return int(value)
