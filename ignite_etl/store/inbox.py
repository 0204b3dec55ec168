"""The inbox of SparkLayer's connection calls (`connection_request`): the ingress records, the sensor works off.

A row is pending until the lifecycle sensor has seen every run it asked for launched
(`processed_at`), and in flight until those runs ended (`finished_at`). The ingress writes with
async connections; the sensor reads and marks with plain ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ignite_etl.store.database import AsyncConn, Conn, one

CONNECT, REMOVE, TRIGGER = "connect", "remove", "trigger"

# Which sync_run data type a trigger's syncDataType watches; the others have no sync_run rows.
SYNC_RUN_DATA_TYPES = {"products": "products", "customers": "customers", "purchases": "purchases"}


@dataclass(frozen=True)
class InboxRequest:
    id: int
    connection_id: str
    kind: str
    sync_data_type: str | None
    received_at: datetime
    processed_at: datetime | None
    finished_at: datetime | None
    attempts: int = 0
    """Failed runs of a removal so far."""
    due: bool = True
    """Whether its next run may start (a failed removal waits a while before the next attempt)."""


def _request(row: dict) -> InboxRequest:
    return InboxRequest(row["id"], row["connection_id"], row["kind"], row["sync_data_type"], row["received_at"],
                        row["processed_at"], row["finished_at"], row["attempts"], row.get("due", True))


# ---- the ingress (async) ----

async def record(
    conn: AsyncConn, connection_id: str, kind: str, *, sync_data_type: str | None = None,
    body: bytes | None = None,
) -> int:
    """Add a request to the inbox in the caller's transaction; `body` is already encrypted."""
    cursor = await conn.execute(
        """
        insert into connection_request (connection_id, kind, sync_data_type, body)
        values (%s, %s, %s, %s) returning id
        """,
        (connection_id, kind, sync_data_type, body),
    )
    return one(await cursor.fetchone())["id"]


async def has_unprocessed_connect(conn: AsyncConn, connection_id: str) -> bool:
    """A connect the sensor has not acted on yet will read the latest credentials anyway."""
    cursor = await conn.execute(
        "select 1 from connection_request where connection_id = %s and kind = 'connect' and processed_at is null",
        (connection_id,),
    )
    return await cursor.fetchone() is not None


async def has_open_removal(conn: AsyncConn, connection_id: str) -> bool:
    cursor = await conn.execute(
        "select 1 from connection_request where connection_id = %s and kind = 'remove' and finished_at is null",
        (connection_id,),
    )
    return await cursor.fetchone() is not None


async def sync_in_flight(
    conn: AsyncConn, connection_id: str, sync_data_type: str, *, window_seconds: int
) -> bool:
    """Whether a sync covering `sync_data_type` is queued or running for the connection.

    Every trigger and connect starts a whole full sync, so any of them not yet finished counts;
    so does a full sync of that data type started elsewhere (UI, schedule, CLI) and not closed.
    Both only within `window_seconds`, so a crashed run cannot block triggers for ever."""
    cursor = await conn.execute(
        """
        select exists (
            select 1 from connection_request
            where connection_id = %(c)s and kind in ('connect', 'trigger') and finished_at is null
              and received_at > now() - make_interval(secs => %(w)s)
        ) or exists (
            select 1 from sync_run
            where connection_id = %(c)s and data_type = %(t)s and kind = 'full' and finished_at is null
              and started_at > now() - make_interval(secs => %(w)s)
        ) as busy
        """,
        {"c": connection_id, "t": SYNC_RUN_DATA_TYPES.get(sync_data_type), "w": window_seconds},
    )
    return one(await cursor.fetchone())["busy"]


# ---- the lifecycle sensor (sync) ----

def pending(conn: Conn, limit: int) -> list[InboxRequest]:
    """Requests whose runs are not all launched yet, oldest first."""
    rows = conn.execute(
        """
        select *, (not_before is null or not_before <= now()) as due from connection_request
        where processed_at is null order by id limit %s
        """,
        (limit,),
    )
    return [_request(r) for r in rows]


def in_flight(conn: Conn, limit: int) -> list[InboxRequest]:
    """Requests whose runs were all launched and have not been seen ending."""
    rows = conn.execute(
        """
        select * from connection_request where processed_at is not null and finished_at is null
        order by id limit %s
        """,
        (limit,),
    )
    return [_request(r) for r in rows]


def mark_processed(conn: Conn, request_id: int, outcome: str, *, finished: bool = False) -> None:
    conn.execute(
        """
        update connection_request
        set processed_at = coalesce(processed_at, now()), outcome = %s,
            finished_at = case when %s then coalesce(finished_at, now()) else finished_at end
        where id = %s
        """,
        (outcome, finished, request_id),
    )


def schedule_retry(conn: Conn, request_id: int, outcome: str, *, delay_seconds: float) -> None:
    """The request's run failed: count it, say so, and let the next run start `delay_seconds` from now."""
    conn.execute(
        """
        update connection_request
        set attempts = attempts + 1, outcome = %s, not_before = now() + make_interval(secs => %s)
        where id = %s
        """,
        (outcome, delay_seconds, request_id),
    )


def mark_finished(conn: Conn, request_id: int, outcome: str) -> None:
    conn.execute(
        "update connection_request set finished_at = coalesce(finished_at, now()), outcome = %s where id = %s",
        (outcome, request_id),
    )


def delete(conn: Conn, request_id: int) -> None:
    conn.execute("delete from connection_request where id = %s", (request_id,))
