"""Bookkeeping behind SparkLayer's sync log: which markers were sent for a sync, and open errors.

SparkLayer keeps no count of what a sync has done, so we do: a full sync's start PUT and its
closing `last_full_sync` are recorded per (connection, root run, data type), and every error we
report is mirrored in `sync_error` for analysts and to know what a later success resolves.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from ignite_etl.store.database import Conn, one


@dataclass(frozen=True)
class SyncError:
    """A problem with one record as the merchant will read it in the SparkLayer dashboard."""

    external_id: str  # unique per data type, e.g. 'variant:123'
    entity: str
    message: str
    resolution: str | None = None
    visible_id: str | None = None
    external_url: str | None = None

    def to_sync_log_item(self) -> dict:
        item = {"external_id": self.external_id, "message": self.message}
        for key in ("resolution", "visible_id", "external_url"):
            value = getattr(self, key)
            if value:
                item[key] = value
        return item


@dataclass(frozen=True)
class SyncStart:
    needs_put: bool  # False when this sync already sent its start (a retried run)
    started_at: datetime
    previous_full_sync: datetime | None
    previous_succeeded: bool | None


def begin(conn: Conn, connection_id: str, sync_id: str, data_type: str, kind: str) -> SyncStart:
    conn.execute(
        """
        insert into sync_run (connection_id, sync_id, data_type, kind) values (%s, %s, %s, %s)
        on conflict do nothing
        """,
        (connection_id, sync_id, data_type, kind),
    )
    row = one(conn.execute(
        "select started_at, start_sent_at from sync_run where connection_id = %s and sync_id = %s and data_type = %s",
        (connection_id, sync_id, data_type),
    ).fetchone())
    previous = last_full_sync(conn, connection_id, data_type)
    return SyncStart(
        needs_put=row["start_sent_at"] is None,
        started_at=row["started_at"],
        previous_full_sync=previous[0] if previous else None,
        previous_succeeded=previous[1] if previous else None,
    )


def mark_start_sent(conn: Conn, connection_id: str, sync_id: str, data_type: str) -> None:
    conn.execute(
        "update sync_run set start_sent_at = now() where connection_id = %s and sync_id = %s and data_type = %s",
        (connection_id, sync_id, data_type),
    )


def started_in(conn: Conn, connection_id: str, sync_id: str) -> list[dict]:
    """The data types this sync started and has not finished."""
    return list(
        conn.execute(
            """
            select data_type, kind, started_at from sync_run
            where connection_id = %s and sync_id = %s and finished_at is null order by data_type
            """,
            (connection_id, sync_id),
        )
    )


def finish(
    conn: Conn, connection_id: str, sync_id: str, data_type: str, *, succeeded: bool, at: datetime
) -> bool:
    """Record the end of a sync (at the time sent to SparkLayer) once; False when already recorded."""
    row = conn.execute(
        """
        update sync_run set finished_at = %s, succeeded = %s
        where connection_id = %s and sync_id = %s and data_type = %s and finished_at is null
        returning finished_at
        """,
        (at, succeeded, connection_id, sync_id, data_type),
    ).fetchone()
    return row is not None


def open_since(conn: Conn, connection_id: str, sync_id: str, data_type: str) -> datetime | None:
    """When the sync of `data_type` began; None when it never began or is closed already."""
    row = conn.execute(
        "select started_at, finished_at from sync_run where connection_id = %s and sync_id = %s and data_type = %s",
        (connection_id, sync_id, data_type),
    ).fetchone()
    return row["started_at"] if row is not None and row["finished_at"] is None else None


def errors_reported_by(conn: Conn, connection_id: str, sync_id: str, data_type: str,
                       excluding: Sequence[str] = ()) -> int:
    """Open errors of `data_type` seen since this sync started, other than `excluding`."""
    row = conn.execute(
        """
        select count(*) as n from sync_error e join sync_run r
          on r.connection_id = e.connection_id and r.data_type = e.data_type
        where r.connection_id = %s and r.sync_id = %s and r.data_type = %s
          and e.resolved_at is null and e.last_seen_at >= r.started_at
          and not (e.external_id = any(%s))
        """,
        (connection_id, sync_id, data_type, list(excluding)),
    ).fetchone()
    return row["n"] if row else 0


def last_full_sync(conn: Conn, connection_id: str, data_type: str) -> tuple[datetime, bool] | None:
    row = conn.execute(
        """
        select finished_at, succeeded from sync_run
        where connection_id = %s and data_type = %s and kind = 'full' and finished_at is not null
        order by finished_at desc limit 1
        """,
        (connection_id, data_type),
    ).fetchone()
    return (row["finished_at"], row["succeeded"]) if row else None


def record_errors(conn: Conn, connection_id: str, data_type: str, errors: Sequence[SyncError]) -> None:
    """Open (or re-open) each error; one already open counts another attempt."""
    if not errors:
        return
    with conn.cursor() as cur:
        cur.executemany(
            """
            insert into sync_error (connection_id, data_type, external_id, entity, message, resolution, visible_id, external_url)
            values (%s, %s, %s, %s, %s, %s, %s, %s)
            on conflict (connection_id, data_type, external_id) do update set
                entity = excluded.entity, message = excluded.message, resolution = excluded.resolution,
                visible_id = excluded.visible_id, external_url = excluded.external_url,
                last_seen_at = now(),
                attempts = case when sync_error.resolved_at is null then sync_error.attempts + 1 else 1 end,
                first_seen_at = case when sync_error.resolved_at is null then sync_error.first_seen_at else now() end,
                resolved_at = null
            """,
            [
                (connection_id, data_type, e.external_id, e.entity, e.message, e.resolution, e.visible_id, e.external_url)
                for e in errors
            ],
        )


def resolve(conn: Conn, connection_id: str, data_type: str, external_ids: Iterable[str]) -> list[str]:
    """Close these errors if open; return the ids that were open."""
    ids = list(external_ids)
    if not ids:
        return []
    rows = conn.execute(
        """
        update sync_error set resolved_at = now()
        where connection_id = %s and data_type = %s and external_id = any(%s) and resolved_at is null
        returning external_id
        """,
        (connection_id, data_type, ids),
    )
    return [r["external_id"] for r in rows]


def resolve_not_seen_since(conn: Conn, connection_id: str, data_type: str, since: datetime) -> list[str]:
    """After a full sync: errors it did not find again are resolved."""
    rows = conn.execute(
        """
        update sync_error set resolved_at = now()
        where connection_id = %s and data_type = %s and resolved_at is null and last_seen_at < %s
        returning external_id
        """,
        (connection_id, data_type, since),
    )
    return [r["external_id"] for r in rows]


def expect_close(conn: Conn, connection_id: str, data_type: str) -> None:
    """A partial sync of `data_type` is about to write: its closing PATCH is owed until `closed`."""
    conn.execute(
        "insert into sync_log_pending_close (connection_id, data_type) values (%s, %s) on conflict do nothing",
        (connection_id, data_type),
    )


def pending_closes(conn: Conn, connection_id: str) -> list[str]:
    rows = conn.execute(
        "select data_type from sync_log_pending_close where connection_id = %s order by since, data_type",
        (connection_id,),
    )
    return [r["data_type"] for r in rows]


def resolvable(conn: Conn, connection_id: str, data_type: str) -> list[str]:
    """Open errors whose record SparkLayer accepted after the error was last seen (its state row, or its
    purchase's, was written since): the writes that resolved them."""
    rows = conn.execute(
        """
        select e.external_id from sync_error e
        where e.connection_id = %(c)s and e.data_type = %(t)s and e.resolved_at is null
          and (exists (select 1 from sync_state s
                       where s.connection_id = e.connection_id and s.entity = split_part(e.external_id, ':', 1)
                         and s.external_id = substr(e.external_id, length(split_part(e.external_id, ':', 1)) + 2)
                         and s.written_at > e.last_seen_at and s.status is distinct from 'creating')
               or exists (select 1 from purchase_state p
                          where p.connection_id = e.connection_id and e.external_id = 'order:' || p.order_id
                            and p.written_at > e.last_seen_at))
        order by e.external_id
        """,
        {"c": connection_id, "t": data_type},
    )
    return [r["external_id"] for r in rows]


def closed(conn: Conn, connection_id: str, data_type: str) -> None:
    conn.execute("delete from sync_log_pending_close where connection_id = %s and data_type = %s",
                 (connection_id, data_type))


def open_errors(conn: Conn, connection_id: str, data_type: str | None = None) -> list[dict]:
    return list(
        conn.execute(
            """
            select * from sync_error where connection_id = %s and resolved_at is null
              and (%s::text is null or data_type = %s) order by data_type, external_id
            """,
            (connection_id, data_type, data_type),
        )
    )
