"""`purchase_state`: per platform order, the whole purchase SparkLayer last accepted and its hash."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg.types.json import Jsonb

from ignite_etl.store.database import AsyncConn, Conn


def hashes(conn: Conn, connection_id: str, order_ids: Sequence[str]) -> dict[str, str]:
    if not order_ids:
        return {}
    rows = conn.execute(
        "select order_id, hash from purchase_state where connection_id = %s and order_id = any(%s)",
        (connection_id, list(order_ids)),
    )
    return {r["order_id"]: r["hash"] for r in rows}


def advance(conn: Conn, connection_id: str, order_id: str, cart_id: str | None, hash_: str,
            body: dict[str, Any]) -> None:
    """Record the purchase SparkLayer accepted; runs in the caller's transaction."""
    conn.execute(
        """
        insert into purchase_state (connection_id, order_id, cart_id, hash, body) values (%s, %s, %s, %s, %s)
        on conflict (connection_id, order_id) do update set
            cart_id = excluded.cart_id, hash = excluded.hash, body = excluded.body, written_at = now()
        """,
        (connection_id, order_id, cart_id, hash_, Jsonb(body)),
    )


async def accepted(conn: AsyncConn, connection_id: str, *, order_id: str | None = None,
                   offset: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
    """The purchases we built and SparkLayer accepted, by order id, each with its `order_id`."""
    cursor = await conn.execute(
        """
        select body || jsonb_build_object('order_id', order_id) as doc from purchase_state
        where connection_id = %s and body is not null and (%s::text is null or order_id = %s)
        order by order_id offset %s limit %s
        """,
        (connection_id, order_id, order_id, offset, limit),
    )
    return [r["doc"] for r in await cursor.fetchall()]
