"""Where the periodic orders pass of each connection starts next time (table `order_pass`)."""

from __future__ import annotations

from datetime import datetime

from ignite_etl.store.database import Conn


def updated_since(conn: Conn, connection_id: str) -> datetime | None:
    row = conn.execute("select updated_since from order_pass where connection_id = %s", (connection_id,)).fetchone()
    return row["updated_since"] if row else None


def advance(conn: Conn, connection_id: str, updated_since: datetime) -> None:
    conn.execute(
        """
        insert into order_pass (connection_id, updated_since) values (%s, %s)
        on conflict (connection_id) do update set updated_since = excluded.updated_since, finished_at = now()
        """,
        (connection_id, updated_since),
    )
