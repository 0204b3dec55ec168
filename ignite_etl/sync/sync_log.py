"""What the merchant sees of a sync in the SparkLayer dashboard, exactly as the data-sync guide asks.

A full sync PUTs the log when it starts (clearing earlier errors, keeping the previous
`last_full_sync`), PATCHes problems as they are found, and PATCHes `last_full_sync` only once every
item was attempted. Postgres remembers what was sent per root run, so a sync retried after a crash
neither repeats the start (which would wipe errors already reported) nor closes twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime

from ignite_etl.sparklayer import models as sl
from ignite_etl.sparklayer.client import SparkLayerClient
from ignite_etl.store import sync_log
from ignite_etl.store.database import Database
from ignite_etl.store.sync_log import SyncError
from ignite_etl.sync.payloads import unique_errors

log = logging.getLogger(__name__)

MAX_ERRORS_PER_PATCH = 5_000
MAX_STORED_ERRORS = 5_000  # SparkLayer refuses a log that would hold more


def utc_now() -> datetime:
    return datetime.now(UTC)


class SyncLogReporter:
    def __init__(
        self,
        client: SparkLayerClient,
        db: Database,
        connection_id: str,
        sync_id: str,
        *,
        integration: str,
        kind: str = "full",
        clock: Callable[[], datetime] = utc_now,
    ):
        self._client = client
        self._db = db
        self._connection_id = connection_id
        self._sync_id = sync_id
        self._integration = integration
        self._kind = kind
        self._clock = clock

    async def start(self, data_type: str) -> None:
        """Open this sync's log for `data_type`, once per sync."""
        with self._db.connect() as conn:
            start = sync_log.begin(conn, self._connection_id, self._sync_id, data_type, self._kind)
        if self._kind != "full" or not start.needs_put:
            return
        await self._client.put_sync_log(
            self._integration,
            data_type,
            sl.FullSyncLog(
                started_full_sync=start.started_at,
                last_full_sync=start.previous_full_sync,
                last_full_sync_succeeded=start.previous_succeeded,
                errors=[],
            ),
        )
        with self._db.connect() as conn:
            sync_log.mark_start_sent(conn, self._connection_id, self._sync_id, data_type)

    async def report(self, data_type: str, errors: Sequence[SyncError]) -> None:
        """Send problems as they are found (each external id once per request).

        A full sync's log holds at most 5,000 errors: past that, errors stay in our own
        `sync_error` table and the log gets one summary error when the sync closes."""
        items = unique_errors(errors)
        if self._kind == "full" and items:
            room = MAX_STORED_ERRORS - 1 - self._sent_before(data_type, [e.external_id for e in items])
            items = items[: max(0, room)]
        for start in range(0, len(items), MAX_ERRORS_PER_PATCH):
            batch = items[start : start + MAX_ERRORS_PER_PATCH]
            await self._client.patch_sync_log(
                self._integration,
                data_type,
                sl.PartialSyncLog(errors=[sl.SyncLogError(**e.to_sync_log_item()) for e in batch]),
            )

    async def resolve(self, data_type: str, external_ids: Sequence[str]) -> None:
        """Tell the sync log these errors no longer hold (the caller closed them locally)."""
        if external_ids:
            await self._client.patch_sync_log(self._integration, data_type,
                                              sl.PartialSyncLog(resolved_external_ids=list(external_ids)))

    async def record_and_report(self, data_type: str, errors: Sequence[SyncError]) -> None:
        """Problems found before any write (mapping): mirror them locally, then send them."""
        if not errors:
            return
        with self._db.connect() as conn:
            sync_log.record_errors(conn, self._connection_id, data_type, unique_errors(errors))
        await self.report(data_type, errors)

    def expect_close(self, data_types: Sequence[str]) -> None:
        """A partial sync is about to write `data_types`: their closing PATCH is owed from now on, and
        survives a failed PATCH or a crash until `close_pending` sends it."""
        with self._db.connect() as conn, conn.transaction():
            for data_type in data_types:
                sync_log.expect_close(conn, self._connection_id, data_type)

    async def close_pending(self, also_resolved: Mapping[str, Iterable[str]] | None = None) -> int:
        """Send every closing PATCH the connection owes (this sync's, and any an earlier one could not
        send): `last_partial_sync`, and the open errors whose records SparkLayer has accepted since (or,
        per data type, `also_resolved` by this sync, e.g. deleted records), which are then closed locally.
        Returns how many errors were resolved."""
        with self._db.connect() as conn:
            owed = sync_log.pending_closes(conn, self._connection_id)
        resolved_count = 0
        for data_type in owed:
            with self._db.connect() as conn:
                resolved = sync_log.resolvable(conn, self._connection_id, data_type)
                extra = set((also_resolved or {}).get(data_type, ())) - set(resolved)
                if extra:
                    resolved += sorted(e["external_id"] for e in sync_log.open_errors(conn, self._connection_id, data_type)
                                       if e["external_id"] in extra)
            await self._client.patch_sync_log(
                self._integration, data_type,
                sl.PartialSyncLog(last_partial_sync=self._clock(), resolved_external_ids=resolved),
            )
            with self._db.connect() as conn, conn.transaction():
                resolved_count += len(sync_log.resolve(conn, self._connection_id, data_type, resolved))
                sync_log.closed(conn, self._connection_id, data_type)
        return resolved_count

    def _sent_before(self, data_type: str, excluding: list[str]) -> int:
        """Errors this sync already reported for `data_type` (seen since it started)."""
        with self._db.connect() as conn:
            return sync_log.errors_reported_by(conn, self._connection_id, self._sync_id, data_type, excluding)

    async def finish(self, data_type: str, *, succeeded: bool = True) -> bool:
        """Close a full sync: `last_full_sync` once, and local errors not found again resolved.
        Returns False when this sync had already been closed."""
        with self._db.connect() as conn:
            started_at = sync_log.open_since(conn, self._connection_id, self._sync_id, data_type)
        if started_at is None:
            return False
        now = self._clock()
        errors = []
        found = self._sent_before(data_type, [])
        if found > MAX_STORED_ERRORS - 1:
            errors.append(
                sl.SyncLogError(
                    external_id=f"{data_type}:more",
                    message=f"{found - (MAX_STORED_ERRORS - 1)} more {data_type} problems are not listed here.",
                    resolution="Fix the problems listed; the rest appear here as those are resolved. "
                    "Your integration team can see every problem in the sync_errors table.",
                )
            )
        await self._client.patch_sync_log(
            self._integration,
            data_type,
            sl.PartialSyncLog(last_full_sync=now, last_full_sync_succeeded=succeeded, errors=errors),
        )
        with self._db.connect() as conn, conn.transaction():
            closed = sync_log.finish(conn, self._connection_id, self._sync_id, data_type, succeeded=succeeded, at=now)
            if closed and succeeded:
                resolved = sync_log.resolve_not_seen_since(conn, self._connection_id, data_type, started_at)
                if resolved:
                    log.info("%d %s error(s) no longer occur", len(resolved), data_type)
        return closed
