"""Write outcomes per load and the webhooks a full sync's changes are compared with (drift).

Each SparkLayer load records how many writes it attempted and how many SparkLayer accepted, so
`reporting.sync_health` can show the success rate over the last day and the error rate of the
last load. A full sync also counts the changes no webhook announced since the previous full sync.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ignite_etl.store.database import Conn


@dataclass(frozen=True)
class LoadOutcome:
    connection_id: str
    sync_id: str
    kind: str  # full, reconcile or partial
    data_type: str
    load: str
    attempted: int
    succeeded: int
    unannounced: int | None = None

    @property
    def failed(self) -> int:
        return self.attempted - self.succeeded


def record(conn: Conn, outcome: LoadOutcome) -> None:
    conn.execute(
        """
        insert into load_outcome (connection_id, sync_id, kind, data_type, load, attempted, succeeded, failed, unannounced)
        values (%s, %s, %s, %s, %s, %s, %s, %s, %s)
        """,
        (outcome.connection_id, outcome.sync_id, outcome.kind, outcome.data_type, outcome.load, outcome.attempted,
         outcome.succeeded, outcome.failed, outcome.unannounced),
    )


@dataclass(frozen=True)
class Announced:
    """Platform ids that webhooks named since the previous full sync started."""

    since: datetime
    entity_ids: frozenset[str]


def announced_since_last_full_sync(
    conn: Conn, connection_id: str, *, excluding_sync: str
) -> Announced | None:
    """None when there is no earlier full sync to measure drift against."""
    since = previous_full_sync_start(conn, connection_id, excluding_sync=excluding_sync)
    if since is None:
        return None
    ids = conn.execute(
        "select distinct entity_id from change_queue where connection_id = %s and received_at >= %s",
        (connection_id, since),
    )
    return Announced(since, frozenset(r["entity_id"] for r in ids))


def previous_full_sync_start(conn: Conn, connection_id: str, *, excluding_sync: str) -> datetime | None:
    """When the last finished full sync before this one started: the state drift is measured against."""
    row = conn.execute(
        """
        select max(started_at) as since from sync_run
        where connection_id = %s and kind = 'full' and finished_at is not null and sync_id <> %s
        """,
        (connection_id, excluding_sync),
    ).fetchone()
    return row["since"] if row else None


def outcomes(conn: Conn, connection_id: str, sync_id: str | None = None) -> list[dict]:
    return list(
        conn.execute(
            """
            select * from load_outcome where connection_id = %s and (%s::text is null or sync_id = %s)
            order by id
            """,
            (connection_id, sync_id, sync_id),
        )
    )
