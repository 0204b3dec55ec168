"""Bookkeeping for sync runs that failed or crashed: the run remembered once, the sync's open data
types marked failed, and reopened if the same sync is re-executed so it can still close."""

from __future__ import annotations

from collections.abc import Sequence

from ignite_etl.store.database import Conn


def mark_failed(
    conn: Conn,
    *,
    run_id: str,
    connection_id: str,
    sync_id: str,
    job_name: str,
    message: str | None,
    data_types: Sequence[str],
) -> list[str]:
    """Record the failed run and mark its sync failed for every data type it had not closed (those it
    never started included). Returns the data types marked; empty when this run was already handled.
    Runs in the caller's transaction."""
    recorded = conn.execute(
        """
        insert into sync_failure (run_id, connection_id, sync_id, job_name, message) values (%s, %s, %s, %s, %s)
        on conflict (run_id) do nothing returning run_id
        """,
        (run_id, connection_id, sync_id, job_name, (message or "")[:1000] or None),
    ).fetchone()
    if recorded is None:
        return []
    with conn.cursor() as cur:
        cur.executemany(
            "insert into sync_run (connection_id, sync_id, data_type, kind) values (%s, %s, %s, 'full') on conflict do nothing",
            [(connection_id, sync_id, data_type) for data_type in data_types],
        )
    rows = conn.execute(
        """
        update sync_run set finished_at = now(), succeeded = false
        where connection_id = %s and sync_id = %s and finished_at is null
        returning data_type
        """,
        (connection_id, sync_id),
    )
    return sorted(r["data_type"] for r in rows)


def reopen(conn: Conn, connection_id: str, sync_id: str) -> int:
    """A re-execution of a failed sync picks it up again: its failed data types are open once more."""
    return conn.execute(
        """
        update sync_run set finished_at = null, succeeded = null
        where connection_id = %s and sync_id = %s and succeeded = false
        """,
        (connection_id, sync_id),
    ).rowcount
