"""SparkLayer's pull endpoints: list entities a page at a time (`GET …/sync/{type}?page=`) and fetch one
(`POST …/sync/{type}/{entityId}`), answered from the last extracted state in Postgres (the platform
asset tables the full sync writes, `platform.platform_*`), never from the platform itself."""

from __future__ import annotations

from typing import Any

from psycopg import sql
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ignite_etl.ingress.http import Problem, choice, field_error, read_json_object, require_bearer, site_connection_id
from ignite_etl.store import purchases

ENTITY_SYNC_DATA_TYPES = ("customers", "products", "purchases", "stock")
EXTRACT_SCHEMA = "platform"
# data type -> (asset table, key column an entity id names); purchases are the ones we built (purchase_state)
TABLES = {"products": ("platform_products", "external_id"), "customers": ("platform_customers", "external_id"),
          "stock": ("platform_stock", "sku")}
VARIANTS = "platform_variants"
MAX_PAGE = 10_000_000


async def list_entities(request: Request) -> Response:
    require_bearer(request)
    connection_id = site_connection_id(request)
    data_type = choice(request, "sync_data_type", "syncDataType", ENTITY_SYNC_DATA_TYPES)
    offset = _page(request.query_params.get("page"))
    size = request.app.state.config.page_size
    async with request.app.state.db.connection() as conn:
        await _require_connection(conn, connection_id)
        rows = await _rows(conn, data_type, connection_id, offset=offset, limit=size + 1)
        if data_type == "products":
            await _attach_variants(conn, connection_id, rows[:size])
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
        rows = await _rows(conn, data_type, connection_id, key=entity_id)
        if data_type == "products":
            await _attach_variants(conn, connection_id, rows)
    if not rows:
        raise Problem(404, f"No {data_type} entity {entity_id!r} in the last extract of {connection_id}.")
    if data_type == "stock":  # one SKU is stocked at several locations
        return JSONResponse({"data": {"sku": entity_id, "locations": rows}})
    return JSONResponse({"data": rows[0]})


def _page(value: str | None) -> int:
    if value is None or value in ("", "null"):
        return 0
    if not value.isdigit() or int(value) > MAX_PAGE:
        raise Problem(400, "page must be a value this endpoint returned as next_page.",
                      errors=[field_error("page", "page must be a next_page value", "invalid")])
    return int(value)


async def _require_connection(conn, connection_id: str) -> None:
    cursor = await conn.execute("select status from connection where id = %s", (connection_id,))
    row = await cursor.fetchone()
    if row is None or row["status"] == "removing":
        raise Problem(404, f"There is no connection {connection_id}: it was never connected or has been removed.")


async def _table_exists(conn, table: str) -> bool:
    cursor = await conn.execute("select to_regclass(%s) is not null as present", (f"{EXTRACT_SCHEMA}.{table}",))
    return (await cursor.fetchone())["present"]


async def _rows(conn, data_type: str, connection_id: str, *, key: str | None = None, offset: int = 0,
                limit: int | None = None) -> list[dict[str, Any]]:
    if data_type == "purchases":
        return await purchases.accepted(conn, connection_id, order_id=key, offset=offset, limit=limit)
    if data_type not in TABLES:
        return []
    table, key_column = TABLES[data_type]
    if not await _table_exists(conn, table):
        return []  # nothing extracted yet
    query = sql.SQL(
        "select to_jsonb(t) - 'connection_id' - '_row' as doc from {} t where connection_id = %s {} "
        "order by _row offset %s {}"
    ).format(
        sql.Identifier(EXTRACT_SCHEMA, table),
        sql.SQL("and {} = %s").format(sql.Identifier(key_column)) if key is not None else sql.SQL(""),
        sql.SQL("limit %s") if limit is not None else sql.SQL(""),
    )
    params: list[Any] = [connection_id]
    if key is not None:
        params.append(key)
    params.append(offset)
    if limit is not None:
        params.append(limit)
    cursor = await conn.execute(query, params)
    return [r["doc"] for r in await cursor.fetchall()]


async def _attach_variants(conn, connection_id: str, products: list[dict[str, Any]]) -> None:
    for product in products:
        product["variants"] = []
    if not products or not await _table_exists(conn, VARIANTS):
        return
    by_id = {p["external_id"]: p for p in products}
    cursor = await conn.execute(
        sql.SQL(
            "select to_jsonb(v) - 'connection_id' - '_row' as doc from {} v "
            "where connection_id = %s and product_external_id = any(%s) order by _row"
        ).format(sql.Identifier(EXTRACT_SCHEMA, VARIANTS)),
        (connection_id, list(by_id)),
    )
    for row in await cursor.fetchall():
        by_id[row["doc"]["product_external_id"]]["variants"].append(row["doc"])


entity_routes = [
    Route("/v1/{site_env}/{site_id}/sync/{sync_data_type}", list_entities, methods=["GET"]),
    Route("/v1/{site_env}/{site_id}/sync/{sync_data_type}/{entity_id}", fetch_entity, methods=["POST"]),
]
