"""Deleting every local row of a removed connection, found generically: each table of the app database
with a `connection_id` column (a table added later is covered without a change here), and the
connection itself."""

from __future__ import annotations

from psycopg import sql

from ignite_etl.store.database import Conn, one

INBOX = ("public", "connection_request")


def connection_tables(conn: Conn) -> list[tuple[str, str]]:
    """(schema, table) of every ordinary table with a `connection_id` column."""
    rows = conn.execute(
        """
        select c.table_schema, c.table_name
        from information_schema.columns c
        join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
        where c.column_name = 'connection_id' and t.table_type = 'BASE TABLE'
          and c.table_schema not in ('pg_catalog', 'information_schema')
        order by 1, 2
        """
    )
    return [(r["table_schema"], r["table_name"]) for r in rows]


def delete_connection_rows(conn: Conn, connection_id: str, *, inbox_before: int | None = None) -> dict[str, int]:
    """Delete the connection's rows everywhere, in the caller's transaction; return rows deleted per table.

    Inbox rows from `inbox_before` on are kept: the removal request itself (the sensor closes it)
    and anything SparkLayer sent after it."""
    deleted: dict[str, int] = {}
    for schema, table in connection_tables(conn):
        query = sql.SQL("delete from {} where connection_id = %s").format(sql.Identifier(schema, table))
        params: tuple = (connection_id,)
        if (schema, table) == INBOX and inbox_before is not None:
            query = sql.SQL("{} and id < %s").format(query)
            params = (connection_id, inbox_before)
        count = conn.execute(query, params).rowcount
        if count:
            deleted[f"{schema}.{table}"] = count
    count = conn.execute("delete from connection where id = %s", (connection_id,)).rowcount
    if count:
        deleted["public.connection"] = count
    return deleted


def rows_left(conn: Conn, connection_id: str) -> dict[str, int]:
    """What is still stored for the connection, per table (empty when nothing is)."""
    left: dict[str, int] = {}
    for schema, table in connection_tables(conn):
        count = one(conn.execute(
            sql.SQL("select count(*) as n from {} where connection_id = %s").format(sql.Identifier(schema, table)),
            (connection_id,),
        ).fetchone())["n"]
        if count:
            left[f"{schema}.{table}"] = count
    if conn.execute("select 1 from connection where id = %s", (connection_id,)).fetchone():
        left["public.connection"] = 1
    return left
