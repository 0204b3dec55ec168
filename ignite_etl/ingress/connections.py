"""SparkLayer's connection calls: connect (`POST /v1/{siteEnv}/{siteId}`), remove (`DELETE`), and trigger
a sync (`POST …/status/{syncDataType}`). Each checks, writes in one transaction and answers; the
lifecycle sensor in Dagster does the work."""

from __future__ import annotations

import logging
from dataclasses import replace

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ignite_etl.ingress.connect_request import ConnectRequest, parse_connect_request
from ignite_etl.ingress.http import Problem, choice, read_body, read_json_object, require_bearer, site_connection_id
from ignite_etl.platforms import platform_spec
from ignite_etl.store import connect_tokens, connecting, inbox, installations

log = logging.getLogger(__name__)

TRIGGER_SYNC_DATA_TYPES = ("customers", "products", "purchases", "merchant", "customer_groups")


def connect_url(request: Request, token: str) -> str:
    return f"{request.app.state.config.public_url}/connect/{token}"


async def create_platform_connection(request: Request) -> Response:
    require_bearer(request)
    connection_id = site_connection_id(request)
    call = parse_connect_request(await read_json_object(request) or {})
    config = request.app.state.config
    cipher = request.app.state.cipher
    async with request.app.state.db.connection() as conn, conn.transaction():
        existing = await connecting.lock(conn, connection_id)
        if existing and existing["status"] == "removing":
            raise Problem(409, f"Connection {connection_id} is being removed; connect again once that is done.")
        call = await _with_installed_settings(conn, cipher, call, connection_id)
        if not call.platform and existing:  # a call naming no platform is for the one the connection has
            call = replace(call, platform=existing["platform"])
        platform_config = dict(existing["platform_config"] or {}) if existing and existing["platform"] == call.platform else {}
        platform_config.update(call.settings.config() if call.settings else {})
        already_connected = bool(existing and existing["status"] == "connected")
        connected = call.complete or already_connected
        await connecting.upsert(
            conn, cipher, site_env=request.path_params["site_env"], site_id=request.path_params["site_id"],
            platform=call.platform, status="connected" if connected else "pending", store_id=call.store_id,
            sparklayer_credentials=call.sparklayer_credentials, platform_config=platform_config,
            platform_secrets=call.settings.secrets() if call.complete and call.settings else None,
        )
        redirect_url = None
        if connected:
            # A connect the sensor has not picked up yet reads these same rows; one is enough.
            if not await inbox.has_unprocessed_connect(conn, connection_id):
                await inbox.record(conn, connection_id, inbox.CONNECT)
        else:
            token = await connect_tokens.issue(conn, connection_id, ttl_seconds=config.connect_token_ttl_seconds)
            redirect_url = connect_url(request, token)
    status = "connected" if connected else "pending"
    log.info("connect %s: %s", connection_id, status)
    return JSONResponse({"connection_id": connection_id, "status": status, "redirect_url": redirect_url})


async def _with_installed_settings(conn, cipher, call: ConnectRequest, connection_id: str) -> ConnectRequest:
    """A connect call for a site our app-store install registered (the platform-initiated flow) brings no
    platform settings: the installed store's complete the connection, under what the call itself sent."""
    if call.complete or not call.store_id:
        return call
    installed = await installations.settings_for_connection(conn, cipher, call.platform, call.store_id, connection_id)
    if installed is None:
        return call
    sent = call.settings.model_dump(exclude_none=True) if call.settings else {}
    settings = platform_spec(call.platform).settings.parse({**installed.config, **installed.secrets, **sent})
    return replace(call, settings=settings)


async def remove_platform_connection(request: Request) -> Response:
    require_bearer(request)
    connection_id = site_connection_id(request)
    await read_body(request)  # bounded, and discarded: removal takes no body
    async with request.app.state.db.connection() as conn, conn.transaction():
        if not await connecting.request_removal(conn, connection_id):
            raise Problem(404, f"There is no connection {connection_id}: it was never connected or is already removed.")
    log.info("remove %s: accepted", connection_id)
    return Response(status_code=204)


async def trigger_data_sync(request: Request) -> Response:
    require_bearer(request)
    connection_id = site_connection_id(request)
    sync_data_type = choice(request, "sync_data_type", "syncDataType", TRIGGER_SYNC_DATA_TYPES)
    await read_body(request)
    config = request.app.state.config
    async with request.app.state.db.connection() as conn, conn.transaction():
        existing = await connecting.lock(conn, connection_id)  # serialises triggers of one connection
        if existing is None or existing["status"] == "removing":
            raise Problem(404, f"There is no connection {connection_id}: it was never connected or has been removed.")
        if existing["status"] != "connected":
            raise Problem(409, f"Connection {connection_id} is not complete yet: the merchant has to finish it on "
                               "the connect page before data can sync.")
        if await inbox.sync_in_flight(conn, connection_id, sync_data_type,
                                      window_seconds=config.sync_running_window_seconds):
            raise Problem(400, f"A {sync_data_type} sync is already queued or running for {connection_id}; "
                               "trigger again when it has finished.")
        request_id = await inbox.record(conn, connection_id, inbox.TRIGGER, sync_data_type=sync_data_type)
    log.info("trigger %s %s: queued as request %d", connection_id, sync_data_type, request_id)
    return JSONResponse({"connection_id": connection_id, "sync_data_type": sync_data_type, "status": "queued",
                         "request_id": request_id}, status_code=201)


connection_routes = [
    Route("/v1/{site_env}/{site_id}", create_platform_connection, methods=["POST"]),
    Route("/v1/{site_env}/{site_id}", remove_platform_connection, methods=["DELETE"]),
    Route("/v1/{site_env}/{site_id}/status/{sync_data_type}", trigger_data_sync, methods=["POST"]),
]
