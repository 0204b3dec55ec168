"""`POST /webhooks/{platform}/{connection_id}`: verify the signature on the raw body with the platform's
registered verifier, then queue one change row of a canonical entity type, committed together with the
deliveries that arrive alongside it (`queue_writer`). The partial sync does the work; this only has to be
fast and never lose or double a delivery. A platform's "uninstalled" event starts the same removal as
SparkLayer's DELETE.

Uses the ingress app's state: `db` (an AsyncConnectionPool with dict rows), `queue_writer`, `cipher`
and `config`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ignite_etl.ingress.http import read_body
from ignite_etl.platforms import InvalidConfiguration, PlatformSpec, WebhookMalformed, WebhookRejected, platform_spec
from ignite_etl.problem import problem
from ignite_etl.store import connecting
from ignite_etl.store.change_queue import QUEUED_ENTITY_TYPES, QueuedChange

log = logging.getLogger(__name__)

KEY_CACHE_SECONDS = 5.0
UNINSTALLED = "uninstalled"


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
            row = await connecting.webhook_key(conn, connection_id)
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


async def receive_webhook(request: Request) -> Response:
    try:
        spec = platform_spec(request.path_params["platform"])
    except InvalidConfiguration:
        return problem(404, f"No platform {request.path_params['platform']!r} sends webhooks here.")
    connection_id = request.path_params["connection_id"]
    raw_body = await read_body(request)  # 413 problem past the ingress's body limit
    keys = _keys(request)
    entry = keys.cached(connection_id)
    fresh = entry is None
    if fresh:
        entry = await keys.load(request, connection_id)
    if entry is None or entry.platform != spec.name:
        return _unknown(spec, connection_id)
    try:
        event = _verify(spec, request, raw_body, entry.key)
    except WebhookMalformed as malformed:
        return _malformed(malformed)
    except WebhookRejected as rejected:
        if fresh:
            return _forged(rejected)
        entry = await keys.load(request, connection_id)  # the key may have changed since we cached it
        if entry is None or entry.platform != spec.name:
            return _unknown(spec, connection_id)
        try:
            event = _verify(spec, request, raw_body, entry.key)
        except WebhookMalformed as malformed:
            return _malformed(malformed)
        except WebhookRejected as again:
            return _forged(again)

    if event.object_type == UNINSTALLED:
        return await _start_removal(request, connection_id)
    if event.object_type not in QUEUED_ENTITY_TYPES or not event.object_id:
        return JSONResponse({"queued": False, "reason": "event not synced"}, status_code=200)
    change = QueuedChange(
        connection_id=connection_id,
        entity_type=event.object_type,
        entity_id=event.object_id,
        event=event.event_name,
        sequence=event.sequence,
        idempotency_key=event.idempotency_key,
    )
    row_id = await request.app.state.queue_writer.enqueue(change)  # answered once committed
    return JSONResponse({"queued": row_id is not None}, status_code=202 if row_id is not None else 200)


async def _start_removal(request: Request, connection_id: str) -> Response:
    """The merchant uninstalled the app on the platform: remove the connection as SparkLayer's DELETE does."""
    async with request.app.state.db.connection() as conn, conn.transaction():
        if not await connecting.request_removal(conn, connection_id):
            return JSONResponse({"queued": False, "reason": "no such connection"}, status_code=200)
    log.info("webhook: %s uninstalled on the platform; removal queued", connection_id)
    return JSONResponse({"queued": True, "removal": True}, status_code=202)


def _verify(spec: PlatformSpec, request: Request, raw_body: bytes, key: str | None):
    if not key:
        raise WebhookRejected("no webhook key is stored for this connection")
    return spec.verify_webhook(request.headers, raw_body, key)


def _unknown(spec: PlatformSpec, connection_id: str) -> Response:
    return problem(404, f"There is no {spec.display_name} connection {connection_id!r}; it may have been removed.")


def _malformed(malformed: WebhookMalformed) -> Response:
    return problem(400, f"{malformed}; nothing was recorded.")


def _forged(rejected: WebhookRejected) -> Response:
    return problem(401, f"{rejected}; nothing was recorded.")


webhook_routes: list[Route] = [
    Route("/webhooks/{platform}/{connection_id}", receive_webhook, methods=["POST"]),
]
