"""Last-accepted state per record: read it for the diff, advance it only for accepted writes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ignite_etl.diff import INTENT, Accepted, StateKey, StateRow
from ignite_etl.store.database import Conn


def load_state(conn: Conn, connection_id: str, entities: Sequence[str]) -> dict[StateKey, StateRow]:
    rows = conn.execute(
        """
        select entity, external_id, hash, parent_external_id, status, sparklayer_id
        from sync_state where connection_id = %s and entity = any(%s)
        """,
        (connection_id, list(entities)),
    )
    return {
        (r["entity"], r["external_id"]): StateRow(r["hash"], r["parent_external_id"], r["status"], r["sparklayer_id"])
        for r in rows
    }


def load_rows(conn: Conn, connection_id: str, keys: Iterable[StateKey]) -> dict[StateKey, StateRow]:
    """State of just these records (a partial sync touches a few)."""
    keys = list(keys)
    if not keys:
        return {}
    rows = conn.execute(
        """
        select s.entity, s.external_id, s.hash, s.parent_external_id, s.status, s.sparklayer_id
        from sync_state s
        join unnest(%s::text[], %s::text[]) as k(entity, external_id)
          on s.entity = k.entity and s.external_id = k.external_id
        where s.connection_id = %s
        """,
        ([k[0] for k in keys], [k[1] for k in keys], connection_id),
    )
    return {
        (r["entity"], r["external_id"]): StateRow(r["hash"], r["parent_external_id"], r["status"], r["sparklayer_id"])
        for r in rows
    }


def variants_of(conn: Conn, connection_id: str, product_ids: Sequence[str]) -> dict[StateKey, StateRow]:
    """Accepted variants of these products, so a partial diff sees variants that left their product."""
    if not product_ids:
        return {}
    rows = conn.execute(
        """
        select entity, external_id, hash, parent_external_id, status, sparklayer_id from sync_state
        where connection_id = %s and entity = 'variant' and parent_external_id = any(%s)
        """,
        (connection_id, list(product_ids)),
    )
    return {
        (r["entity"], r["external_id"]): StateRow(r["hash"], r["parent_external_id"], r["status"], r["sparklayer_id"])
        for r in rows
    }


def advance(
    conn: Conn, connection_id: str, accepted: Iterable[tuple[Accepted, str | None]]
) -> int:
    """Store accepted rows (with SparkLayer's id when it gave one). Runs in the caller's transaction."""
    rows = [
        (connection_id, a.entity, a.external_id, a.parent_external_id, a.hash, a.status, sparklayer_id)
        for a, sparklayer_id in accepted
    ]
    if not rows:
        return 0
    with conn.cursor() as cur:
        cur.executemany(
            """
            insert into sync_state (connection_id, entity, external_id, parent_external_id, hash, status, sparklayer_id)
            values (%s, %s, %s, %s, %s, %s, %s)
            on conflict (connection_id, entity, external_id) do update set
                parent_external_id = coalesce(excluded.parent_external_id, sync_state.parent_external_id),
                hash = excluded.hash,
                status = excluded.status,
                sparklayer_id = coalesce(excluded.sparklayer_id, sync_state.sparklayer_id),
                written_at = now()
            """,
            rows,
        )
    return len(rows)


def record_intent(conn: Conn, connection_id: str, accepts: Iterable[Accepted]) -> None:
    """Before a create is sent: a row (status INTENT, no hash) for each record it may create that has none,
    so a crash between SparkLayer accepting it and `advance` cannot leave a record our state does not know."""
    rows = [(connection_id, a.entity, a.external_id, a.parent_external_id, INTENT) for a in accepts]
    if rows:
        with conn.cursor() as cur:
            cur.executemany(
                """
                insert into sync_state (connection_id, entity, external_id, parent_external_id, hash, status)
                values (%s, %s, %s, %s, '', %s)
                on conflict (connection_id, entity, external_id) do nothing
                """,
                rows,
            )


def drop_intents(conn: Conn, connection_id: str, keys: Iterable[StateKey]) -> None:
    """SparkLayer refused the create: the intent rows of these records go (rows it accepted stay)."""
    _delete(conn, connection_id, keys, only_status=INTENT)


def forget(conn: Conn, connection_id: str, keys: Iterable[StateKey]) -> None:
    """Drop state rows of records deleted in SparkLayer."""
    _delete(conn, connection_id, keys)


def _delete(conn: Conn, connection_id: str, keys: Iterable[StateKey], *, only_status: str | None = None) -> None:
    keys = list(keys)
    if keys:
        conn.execute(
            """
            delete from sync_state s using unnest(%s::text[], %s::text[]) as k(entity, external_id)
            where s.connection_id = %s and s.entity = k.entity and s.external_id = k.external_id
              and (%s::text is null or s.status = %s)
            """,
            ([k[0] for k in keys], [k[1] for k in keys], connection_id, only_status, only_status),
        )


def forget_stock_at(conn: Conn, connection_id: str, location_external_ids: Sequence[str]) -> int:
    """Drop what SparkLayer held at these stock locations (they were just created, again: a merchant deleted
    them), so the next stock diff sends their stock whole."""
    if not location_external_ids:
        return 0
    cursor = conn.execute(
        """
        delete from sync_state
        where connection_id = %s and entity = 'stock' and split_part(external_id, '@', -1) = any(%s)
        """,
        (connection_id, list(location_external_ids)),
    )
    return cursor.rowcount
