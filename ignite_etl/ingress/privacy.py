"""`POST /webhooks/{platform}/privacy`: a platform's privacy requests (Shopify's mandatory compliance webhooks),
one address per app, signed with the app's credentials. A bad signature is 401, as Shopify requires.

- A store to forget (48 hours after it removed the app): its installation (encrypted credentials, page links)
  is deleted, and any connection of the store still here is removed as SparkLayer's DELETE removes it.
- A customer's redaction: recorded with the customer's id only. On a platform whose customers we sync
  (`PlatformSpec.has_customers`), what the last extract holds of the customer, and the purchases we last sent
  for the orders named, are deleted at once, and the customer is queued for each connection of the store, so
  the partial sync reads it again and removes from SparkLayer the customer the store no longer has. Elsewhere
  we keep no customer data, so there is nothing to delete.
- A customer's data request: recorded with the customer's id only, for the operator to answer the store
  owner from the extract (`GET /v1/{siteEnv}/{siteId}/sync/customers`).
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ignite_etl.ingress.http import read_body
from ignite_etl.platforms import InvalidConfiguration, WebhookMalformed, WebhookRejected, platform_spec
from ignite_etl.problem import problem
from ignite_etl.store import change_queue, connecting, privacy
from ignite_etl.store.change_queue import QueuedChange

log = logging.getLogger(__name__)


async def receive_privacy_webhook(request: Request) -> Response:
    try:
        spec = platform_spec(request.path_params["platform"])
    except InvalidConfiguration:
        spec = None
    if spec is None or spec.verify_privacy_webhook is None:
        return problem(404, f"No platform {request.path_params['platform']!r} sends privacy requests here.")
    raw_body = await read_body(request)
    app = request.app.state.config.platform_apps.get(spec.name, {})
    try:
        asked = spec.verify_privacy_webhook(request.headers, raw_body, app)
    except WebhookRejected as exc:
        return problem(401, f"{exc}; nothing was recorded.")
    except WebhookMalformed as exc:
        return problem(400, f"{exc}; nothing was recorded.")
    async with request.app.state.db.connection() as conn, conn.transaction():
        request_id = await privacy.record(conn, spec.name, asked.store_id, asked.kind, asked.customer_id,
                                          asked.idempotency_key)
        if request_id is None:
            return JSONResponse({"recorded": False, "reason": "already recorded"}, status_code=200)
        removed: list[str] = []
        rechecked: list[str] = []
        if asked.kind == "store_redact":
            await privacy.forget_installation(conn, spec.name, asked.store_id)
            for connection_id in await privacy.connections_of_store(conn, spec.name, asked.store_id):
                if await connecting.request_removal(conn, connection_id):
                    removed.append(connection_id)
        elif asked.kind == "customer_redact" and spec.has_customers and asked.customer_id:
            # the extract's copy goes now; the partial sync reads the customer again and removes from
            # SparkLayer the one the store no longer has
            changes = []
            for connection_id in await privacy.connections_of_store(conn, spec.name, asked.store_id):
                await privacy.forget_customer(conn, connection_id, asked.customer_id)
                await privacy.forget_purchase_bodies(conn, connection_id, list(asked.order_ids))
                changes.append(QueuedChange(connection_id, "customer", asked.customer_id, "customers/redact",
                                            idempotency_key=f"privacy:{request_id}"))
            rechecked = [c.connection_id for c, row in zip(changes, await change_queue.enqueue_many_async(conn, changes))
                         if row is not None]
        await privacy.done(conn, request_id)
    log.info("privacy: %s %s for a %s store; %d connection(s) to remove, %d to recheck the customer on",
             asked.kind, request_id, spec.display_name, len(removed), len(rechecked))
    return JSONResponse({"recorded": True, "removal": removed, "recheck": rechecked}, status_code=200)


privacy_routes = [Route("/webhooks/{platform}/privacy", receive_privacy_webhook, methods=["POST"])]
