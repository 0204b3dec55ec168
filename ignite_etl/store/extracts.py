"""Reads of the platform extracts the full sync wrote (`platform.platform_*` asset tables), for SparkLayer's
list and fetch entity endpoints, and of the purchases SparkLayer last accepted."""

from __future__ import annotations

from typing import Any

from psycopg import sql

from ignite_etl.store import purchases
from ignite_etl.store.database import AsyncConn, one

EXTRACT_SCHEMA = "platform"
# data type -> (asset table, key column an entity id names); purchases are the ones we built (purchase_state)
ENTITY_TABLES = {"products": ("platform_products", "external_id"),
                 "customers": ("platform_customers", "external_id"), "stock": ("platform_stock", "sku")}
VARIANTS = "platform_variants"


async def table_exists(conn: AsyncConn, table: str) -> bool:
    """Whether a full sync has written the extract table yet."""
    cursor = await conn.execute("select to_regclass(%s) is not null as present", (f"{EXTRACT_SCHEMA}.{table}",))
    return one(await cursor.fetchone())["present"]


async def entity_rows(conn: AsyncConn, data_type: str, connection_id: str, *, key: str | None = None, offset: int = 0,
                limit: int | None = None) -> list[dict[str, Any]]:
    if data_type == "purchases":
        return await purchases.accepted(conn, connection_id, order_id=key, offset=offset, limit=limit)
    if data_type not in ENTITY_TABLES:
        return []
    table, key_column = ENTITY_TABLES[data_type]
    if not await table_exists(conn, table):
        return []  # nothing extracted yet
    query = sql.SQL(
        "select to_jsonb(t) - 'connection_id' - '_row' - 'problems' as doc from {} t where connection_id = %s {} "
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


async def attach_variants(conn: AsyncConn, connection_id: str, products: list[dict[str, Any]]) -> None:
    for product in products:
        product["variants"] = []
    if not products or not await table_exists(conn, VARIANTS):
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
