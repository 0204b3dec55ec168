"""Reads behind the reporting assets: the `reporting.sync_errors` and `reporting.sync_health` views (sql/0006)."""

from __future__ import annotations

from datetime import datetime

from ignite_etl.store.database import Conn, one

SYNC_ERROR_COLUMNS = (
    "connection_id", "data_type", "entity", "external_id", "visible_id", "message", "resolution",
    "first_seen_at", "last_seen_at", "attempts", "dead_letter",
)


def sync_errors(conn: Conn, connection_id: str | None = None) -> list[dict]:
    """Every open problem, dead letters first, then the most recently seen."""
    return list(
        conn.execute(
            """
            select * from reporting.sync_errors where (%s::text is null or connection_id = %s)
            order by connection_id, dead_letter desc, last_seen_at desc, data_type, external_id
            """,
            (connection_id, connection_id),
        )
    )


def sync_health(conn: Conn) -> list[dict]:
    return list(conn.execute("select * from reporting.sync_health order by connection_id"))



def database_now(conn: Conn) -> datetime:
    """The database's clock: the health checks compare it with timestamps the database wrote."""
    return one(conn.execute("select now() as now").fetchone())["now"]
