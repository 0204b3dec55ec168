"""Privacy requests a platform sends about a store or one of its customers (async, for the ingress)."""

from __future__ import annotations

from psycopg import sql

from ignite_etl.store import extracts
from ignite_etl.store.database import AsyncConn


async def record(conn: AsyncConn, platform: str, store_id: str, kind: str, customer_id: str | None,
                 idempotency_key: str) -> int | None:
    """The request's id; None when the same request was recorded already (a redelivery)."""
    cursor = await conn.execute(
        """
        insert into privacy_request (platform, store_id, kind, customer_id, idempotency_key)
        values (%s, %s, %s, %s, %s)
        on conflict (idempotency_key) do nothing
        returning id
        """,
        (platform, store_id, kind, customer_id, idempotency_key),
    )
    row = await cursor.fetchone()
    return row["id"] if row else None


async def done(conn: AsyncConn, request_id: int) -> None:
    await conn.execute("update privacy_request set done_at = now() where id = %s", (request_id,))


async def forget_installation(conn: AsyncConn, platform: str, store_id: str) -> int:
    """Delete the store's installation (its encrypted credentials, its page links) and install states."""
    cursor = await conn.execute("delete from installation where platform = %s and store_id = %s", (platform, store_id))
    await conn.execute("delete from install_state where platform = %s and store_id = %s", (platform, store_id))
    return cursor.rowcount


async def connections_of_store(conn: AsyncConn, platform: str, store_id: str) -> list[str]:
    cursor = await conn.execute("select id from connection where platform = %s and store_id = %s",
                                (platform, store_id))
    return [row["id"] for row in await cursor.fetchall()]


async def forget_customer(conn: AsyncConn, connection_id: str, customer_id: str) -> int:
    """Delete what the last extract holds of one customer (name, email, phone, addresses); the rows deleted.
    The sync state keeps a hash only; it goes when the partial sync removes the customer from SparkLayer."""
    table, key = extracts.ENTITY_TABLES["customers"]
    if not await extracts.table_exists(conn, table):
        return 0
    cursor = await conn.execute(
        sql.SQL("delete from {} where connection_id = %s and {} = %s").format(
            sql.Identifier(extracts.EXTRACT_SCHEMA, table), sql.Identifier(key)),
        (connection_id, customer_id))
    return cursor.rowcount


async def forget_purchase_bodies(conn: AsyncConn, connection_id: str, order_ids: list[str]) -> int:
    """Drop the purchases we last sent for these orders (their customer, addresses); the hash stays, so an
    unchanged order is still not sent again. The rows changed."""
    cursor = await conn.execute(
        "update purchase_state set body = null where connection_id = %s and order_id = any(%s) and body is not null",
        (connection_id, order_ids))
    return cursor.rowcount
