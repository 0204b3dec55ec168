"""`POST /webhooks/marketplacer/{connection_id}`: verify the signature on the raw body, then queue one
change row, committed together with the deliveries that arrive alongside it (`queue_writer`). The
partial sync does the work; this only has to be fast and never lose or double a delivery.

Uses the ingress app's state: `db` (an AsyncConnectionPool with dict rows), `queue_writer`, `cipher`
and `config`.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ignite_etl.ingress.http import read_body
from ignite_etl.platforms import WebhookRejected, verify_webhook
from ignite_etl.problem import problem
from ignite_etl.store.change_queue import QueuedChange

log = logging.getLogger(__name__)

PLATFORM = "marketplacer"
KEY_CACHE_SECONDS = 5.0
# Marketplacer object types -> the queue's entity types; anything else is acknowledged and ignored.
ENTITY_TYPES = {
    "Advert": "advert", "UnpublishedAdvert": "advert", "DeletedAdvert": "advert",
    "Variant": "variant",
    "Invoice": "invoice", "Order": "invoice", "Shipment": "invoice", "RefundRequest": "invoice",
}


@dataclass
class _CachedKey:
    platform: str
    key: str | None = field(repr=False)
    expires_at: float


class WebhookKeys:
    """Decrypted HMAC keys per connection, kept a few seconds so a burst costs one lookup.

    A signature that fails against a cached key is checked again against a fresh read, so a new key
    takes effect at once; a removed connection is caught by the insert itself."""

    def __init__(self, ttl_seconds: float = KEY_CACHE_SECONDS):
        self._ttl = ttl_seconds
        self._keys: dict[str, _CachedKey] = {}

    def cached(self, connection_id: str) -> _CachedKey | None:
        entry = self._keys.get(connection_id)
        if entry is None or entry.expires_at < time.monotonic():
            return None
        return entry

    async def load(self, request: Request, connection_id: str) -> _CachedKey | None:
        async with request.app.state.db.connection() as conn:
            cursor = await conn.execute(
                "select platform, webhook_secret from connection where id = %s", (connection_id,)
            )
            row = await cursor.fetchone()
        if row is None:
            self._keys.pop(connection_id, None)
            return None
        secret = row["webhook_secret"]
        key = request.app.state.cipher.decrypt(secret) if secret else None
        entry = _CachedKey(row["platform"], key, time.monotonic() + self._ttl)
        self._keys[connection_id] = entry
        return entry


def _keys(request: Request) -> WebhookKeys:
    keys = getattr(request.app.state, "webhook_keys", None)
    if keys is None:
        keys = request.app.state.webhook_keys = WebhookKeys()
    return keys


async def receive_marketplacer_webhook(request: Request) -> Response:
    connection_id = request.path_params["connection_id"]
    raw_body = await read_body(request)  # 413 problem past the ingress's body limit
    keys = _keys(request)
    entry = keys.cached(connection_id)
    fresh = entry is None
    if fresh:
        entry = await keys.load(request, connection_id)
    if entry is None or entry.platform != PLATFORM:
        return problem(404, f"There is no Marketplacer connection {connection_id!r}; it may have been removed.")
    try:
        event = _verify(request, raw_body, entry.key)
    except WebhookRejected:
        if fresh:
            return _forged()
        entry = await keys.load(request, connection_id)  # the key may have changed since we cached it
        if entry is None or entry.platform != PLATFORM:
            return problem(404, f"There is no Marketplacer connection {connection_id!r}; it may have been removed.")
        try:
            event = _verify(request, raw_body, entry.key)
        except WebhookRejected:
            return _forged()

    entity_type = ENTITY_TYPES.get(event.platform_type)
    if entity_type is None or not event.object_id:
        return JSONResponse({"queued": False, "reason": "event not synced"}, status_code=200)
    change = QueuedChange(
        connection_id=connection_id,
        entity_type=entity_type,
        entity_id=event.object_id,
        event=event.event_name,
        sequence=event.sequence,
        idempotency_key=event.idempotency_key or hashlib.sha256(raw_body).hexdigest(),
    )
    row_id = await request.app.state.queue_writer.enqueue(change)  # answered once committed
    return JSONResponse({"queued": row_id is not None}, status_code=202 if row_id is not None else 200)


def _verify(request: Request, raw_body: bytes, key: str | None):
    if not key:
        raise WebhookRejected("no webhook key is stored for this connection")
    return verify_webhook(PLATFORM, request.headers, raw_body, key)


def _forged() -> Response:
    return problem(401, "The webhook's Marketplacer-Hmac-256 signature is missing or does not match this connection's key.")


webhook_routes: list[Route] = [
    Route("/webhooks/marketplacer/{connection_id}", receive_marketplacer_webhook, methods=["POST"]),
]
