"""The durable change queue: webhook deliveries in, claimed and settled by partial syncs.

A row is a hint that one platform entity changed. Rows are deduplicated by the delivery's
idempotency key, marked done in the transaction that advances the sync state, rescheduled with
exponential backoff on a transient failure, and become dead letters when their attempts run out.
Rows of a connection that no longer exists are never claimed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from psycopg.rows import dict_row

from ignite_etl.store.database import AsyncConn, Conn

# The canonical entity types a platform's webhooks name (`WebhookEvent.object_type`) that are queued.
QUEUED_ENTITY_TYPES = ("product", "variant", "stock", "customer", "order", "settings")

DEFAULT_MAX_ATTEMPTS = 8
DEFAULT_BASE_DELAY = timedelta(seconds=30)
DEFAULT_MAX_DELAY = timedelta(hours=1)
MAX_ERROR_LENGTH = 500

# One statement for one delivery or many (the ingress's group commit), in arrival order so ids follow
# the order deliveries came in; it returns the rows inserted, so duplicates can be told apart.
ENQUEUE_SQL = """
insert into change_queue (connection_id, entity_type, entity_id, event, sequence, idempotency_key)
select d.connection_id, d.entity_type, d.entity_id, d.event, d.sequence, d.idempotency_key
from unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::bigint[], %s::text[])
     with ordinality as d(connection_id, entity_type, entity_id, event, sequence, idempotency_key, position)
where exists (select 1 from connection c where c.id = d.connection_id and c.status <> 'removing')
order by d.position
on conflict (connection_id, idempotency_key) do nothing
returning id, connection_id, idempotency_key
"""
_ENQUEUED = ("connection_id", "entity_type", "entity_id", "event", "sequence", "idempotency_key")


@dataclass(frozen=True)
class QueuedChange:
    """What a verified webhook names, as it is queued."""

    connection_id: str
    entity_type: str
    entity_id: str
    event: str
    idempotency_key: str
    sequence: int | None = None


@dataclass(frozen=True)
class ChangeRow:
    id: int
    connection_id: str
    entity_type: str
    entity_id: str
    event: str
    attempts: int


@dataclass(frozen=True)
class PendingConnection:
    """One connection's due work, as the sensor sees it."""

    connection_id: str
    highest_id: int
    rows: int
    latest_not_before: datetime

    @property
    def run_key(self) -> str:
        """Unique per batch of work: new rows raise the id, a backoff that ran out moves `not_before`."""
        return f"partial-{self.connection_id}-{self.highest_id}-{int(self.latest_not_before.timestamp() * 1000)}"


@dataclass(frozen=True)
class RetryPolicy:
    """How often a failing row is tried again before it becomes a dead letter."""

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    base_delay: timedelta = DEFAULT_BASE_DELAY
    max_delay: timedelta = DEFAULT_MAX_DELAY

    def delay(self, attempts: int) -> timedelta:
        """Backoff before the next try after `attempts` counted failures: base * 2^(attempts-1), capped."""
        return min(self.max_delay, self.base_delay * (2 ** max(0, attempts - 1)))


async def enqueue_many_async(conn: AsyncConn, changes: Sequence[QueuedChange]) -> list[int | None]:
    """Queue many changes in one statement; per change, as `enqueue` answers (a repeat of an earlier
    change in the same call is a duplicate)."""
    async with conn.cursor(row_factory=dict_row) as cursor:
        await cursor.execute(ENQUEUE_SQL, _enqueue_params(changes))
        return _ids_for(changes, await cursor.fetchall())


def enqueue(conn: Conn, change: QueuedChange) -> int | None:
    """Queue a change; the new row id, or None for a duplicate delivery or an unknown connection or one
    being removed (its rows are deleted by the removal, which may already have run)."""
    with conn.cursor(row_factory=dict_row) as cursor:
        return _ids_for([change], cursor.execute(ENQUEUE_SQL, _enqueue_params([change])).fetchall())[0]


def _enqueue_params(changes: Sequence[QueuedChange]) -> list[list]:
    return [[getattr(c, name) for c in changes] for name in _ENQUEUED]


def _ids_for(changes: Sequence[QueuedChange], rows: Sequence[dict]) -> list[int | None]:
    inserted = {(row["connection_id"], row["idempotency_key"]): row["id"] for row in rows}
    return [inserted.pop((c.connection_id, c.idempotency_key), None) for c in changes]  # pop: the first one wins


def pending_connections(conn: Conn) -> list[PendingConnection]:
    """Connections with due pending rows, oldest work first, with the highest due row id of each.
    Rows of removed connections and of connections being removed are left out."""
    rows = conn.execute(
        """
        select q.connection_id, max(q.id) as highest_id, count(*) as rows, max(q.not_before) as latest_not_before
        from change_queue q join connection c on c.id = q.connection_id and c.status <> 'removing'
        where q.status = 'pending' and q.not_before <= now()
        group by q.connection_id
        order by min(q.id)
        """
    ).fetchall()
    return [PendingConnection(**r) for r in rows]


def due_rows(conn: Conn, connection_id: str, *, limit: int = 1000) -> list[ChangeRow]:
    """Pending rows of a connection whose backoff has passed, oldest first; none for a removed connection."""
    rows = conn.execute(
        """
        select q.id, q.connection_id, q.entity_type, q.entity_id, q.event, q.attempts
        from change_queue q join connection c on c.id = q.connection_id
        where q.connection_id = %s and q.status = 'pending' and q.not_before <= now()
        order by q.id limit %s
        """,
        (connection_id, limit),
    ).fetchall()
    return [ChangeRow(**r) for r in rows]


def mark_done(conn: Conn, ids: Sequence[int]) -> int:
    """Settle rows; runs in the caller's transaction (the one that advances the sync state)."""
    if not ids:
        return 0
    cursor = conn.execute(
        "update change_queue set status = 'done', processed_at = now(), last_error = null"
        " where id = any(%s) and status = 'pending'",
        (list(ids),),
    )
    return cursor.rowcount


def reschedule(
    conn: Conn,
    ids: Sequence[int],
    error: str,
    policy: RetryPolicy,
    *,
    counts_as_attempt: bool = True,
    wait: timedelta | None = None,
) -> list[int]:
    """Try rows again later. A counted failure backs off exponentially and, once the attempts run out,
    makes the row a dead letter; an uncounted one (a rate limit) just waits `wait`. Returns dead ids."""
    if not ids:
        return []
    error = error[:MAX_ERROR_LENGTH]
    if not counts_as_attempt:
        conn.execute(
            """
            update change_queue set not_before = now() + %s, last_error = %s
            where id = any(%s) and status = 'pending'
            """,
            (wait or policy.base_delay, error, list(ids)),
        )
        return []
    rows = conn.execute(
        "select id, attempts from change_queue where id = any(%s) and status = 'pending' for update",
        (list(ids),),
    ).fetchall()
    dead: list[int] = []
    with conn.cursor() as cur:
        for row in rows:
            attempts = row["attempts"] + 1
            if attempts >= policy.max_attempts:
                dead.append(row["id"])
                cur.execute(
                    "update change_queue set status = 'dead', attempts = %s, last_error = %s, processed_at = now()"
                    " where id = %s",
                    (attempts, error, row["id"]),
                )
            else:
                cur.execute(
                    "update change_queue set attempts = %s, last_error = %s, not_before = now() + %s where id = %s",
                    (attempts, error, policy.delay(attempts), row["id"]),
                )
    return dead


def requeue_dead(conn: Conn, connection_id: str, *, since: datetime | None = None) -> int:
    """Bring a connection's dead letters (received at or after `since`) back as fresh pending rows."""
    cursor = conn.execute(
        """
        update change_queue set status = 'pending', attempts = 0, not_before = now(), processed_at = null
        where connection_id = %s and status = 'dead' and (%s::timestamptz is null or received_at >= %s)
        """,
        (connection_id, since, since),
    )
    return cursor.rowcount


def discard_connection(conn: Conn, connection_id: str) -> int:
    """Drop a removed connection's queue (call it with the removal); returns rows dropped."""
    return conn.execute("delete from change_queue where connection_id = %s", (connection_id,)).rowcount


def status_counts(conn: Conn, connection_id: str) -> dict[str, int]:
    rows = conn.execute(
        "select status, count(*) as n from change_queue where connection_id = %s group by status",
        (connection_id,),
    ).fetchall()
    counts = {"pending": 0, "done": 0, "dead": 0}
    counts.update({r["status"]: r["n"] for r in rows})
    return counts
