"""SparkLayer's pull endpoints: list entities a page at a time (`GET …/sync/{type}?page=`) and fetch one
(`POST …/sync/{type}/{entityId}`), answered from the last extracted state in Postgres (the platform
asset tables the full sync writes, `platform.platform_*`), never from the platform itself."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ignite_etl.ingress.http import Problem, choice, field_error, read_json_object, require_bearer, site_connection_id
from ignite_etl.store import connecting
from ignite_etl.store.extracts import attach_variants, entity_rows

ENTITY_SYNC_DATA_TYPES = ("customers", "products", "purchases", "stock")
MAX_PAGE = 10_000_000


async def list_entities(request: Request) -> Response:
    require_bearer(request)
    connection_id = site_connection_id(request)
    data_type = choice(request, "sync_data_type", "syncDataType", ENTITY_SYNC_DATA_TYPES)
    offset = _page(request.query_params.get("page"))
    size = request.app.state.config.page_size
    async with request.app.state.db.connection() as conn:
        await _require_connection(conn, connection_id)
        rows = await entity_rows(conn, data_type, connection_id, offset=offset, limit=size + 1)
        if data_type == "products":
            await attach_variants(conn, connection_id, rows[:size])
    more = len(rows) > size
    return JSONResponse({"data": rows[:size], "next_page": str(offset + size) if more else None})


async def fetch_entity(request: Request) -> Response:
    require_bearer(request)
    connection_id = site_connection_id(request)
    data_type = choice(request, "sync_data_type", "syncDataType", ENTITY_SYNC_DATA_TYPES)
    entity_id = request.path_params["entity_id"]
    body = await read_json_object(request, optional=True)
    if body is not None and not isinstance(body.get("payload"), (str, type(None))):
        raise Problem(400, "payload must be a string or null.",
                      errors=[field_error("payload", "payload must be a string or null", "invalid_type")])
    async with request.app.state.db.connection() as conn:
        await _require_connection(conn, connection_id)
        rows = await entity_rows(conn, data_type, connection_id, key=entity_id)
        if data_type == "products":
            await attach_variants(conn, connection_id, rows)
    if not rows:
        raise Problem(404, f"No {data_type} entity {entity_id!r} in the last extract of {connection_id}.")
    if data_type == "stock":  # one SKU is stocked at several locations
        return JSONResponse({"data": {"sku": entity_id, "locations": rows}})
    return JSONResponse({"data": rows[0]})


def _page(value: str | None) -> int:
    if value is None or value in ("", "null"):
        return 0
    if not (value.isascii() and value.isdigit()) or int(value) > MAX_PAGE:
        raise Problem(400, "page must be a value this endpoint returned as next_page.",
                      errors=[field_error("page", "page must be a next_page value", "invalid")])
    return int(value)


async def _require_connection(conn, connection_id: str) -> None:
    status = await connecting.status(conn, connection_id)
    if status is None or status == "removing":
        raise Problem(404, f"There is no connection {connection_id}: it was never connected or has been removed.")


entity_routes = [
    Route("/v1/{site_env}/{site_id}/sync/{sync_data_type}", list_entities, methods=["GET"]),
    Route("/v1/{site_env}/{site_id}/sync/{sync_data_type}/{entity_id}", fetch_entity, methods=["POST"]),
]
