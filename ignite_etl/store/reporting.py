"""Reads behind the reporting assets: the `reporting.sync_errors` and `reporting.sync_health` views
(sql/0006), and the record of sync runs that failed or crashed."""

from __future__ import annotations

import psycopg

SYNC_ERROR_COLUMNS = (
    "connection_id", "data_type", "entity", "external_id", "visible_id", "message", "resolution",
    "first_seen_at", "last_seen_at", "attempts", "dead_letter",
)


def sync_errors(conn: psycopg.Connection, connection_id: str | None = None) -> list[dict]:
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


def sync_health(conn: psycopg.Connection) -> list[dict]:
    return list(conn.execute("select * from reporting.sync_health order by connection_id"))


def record_failed_run(
    conn: psycopg.Connection, *, run_id: str, connection_id: str, sync_id: str, job_name: str, message: str | None
) -> bool:
    """Remember a failed sync run once; False when it was already recorded (a re-evaluated sensor tick)."""
    row = conn.execute(
        """
        insert into sync_failure (run_id, connection_id, sync_id, job_name, message) values (%s, %s, %s, %s, %s)
        on conflict (run_id) do nothing returning run_id
        """,
        (run_id, connection_id, sync_id, job_name, (message or "")[:1000] or None),
    ).fetchone()
    return row is not None
