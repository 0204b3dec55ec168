"""The partial sync of one connection: work off its due change-queue rows.

A webhook only says which entity changed, so the current state is re-fetched from the platform
(duplicates and delivery order do not matter), diffed against what SparkLayer last accepted with the
full sync's code, and only the differences are written. Queue rows are marked done in the transaction
that advances the state of the last write; a failure leaves them pending with a backoff, or makes
them dead letters once their attempts run out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import psycopg

from ignite_etl import diff
from ignite_etl.platforms import InvalidConfiguration, InvalidCredentials, Platform, PlatformError, PlatformUnavailable
from ignite_etl.sparklayer import models as sl
from ignite_etl.sparklayer.client import SparkLayerClient
from ignite_etl.sparklayer.errors import AuthenticationFailed, SparkLayerError, TransientError
from ignite_etl.store import change_queue, load_stats, sync_log, sync_state
from ignite_etl.store.change_queue import ChangeRow, RetryPolicy
from ignite_etl.store.connections import Connection
from ignite_etl.store.database import connect
from ignite_etl.store.sync_log import SyncError
from ignite_etl.sync import payloads
from ignite_etl.sync.extract import CatalogueFrames
from ignite_etl.sync.orders import DATA_TYPE as PURCHASES, PurchaseWriter
from ignite_etl.sync.setup import SiteSetupFailed, ensure_stock_locations
from ignite_etl.sync.sync_log import SyncLogReporter, utc_now
from ignite_etl.sync.writer import ChangeWriter, LoadReport

log = logging.getLogger(__name__)

PRODUCT_ENTITIES = ("advert", "variant")
ORDER_ENTITIES = ("invoice",)
RATE_LIMITED = 429
DEFAULT_BATCH_SIZE = 500
DEFAULT_POLL_SECONDS = 0.5
_LOCK_NAMESPACE = "ignite-partial-sync:"


@dataclass
class PartialSyncOutcome:
    """What one partial sync did, for run metadata and tests."""

    connection_id: str
    rows: int = 0
    done: int = 0
    writes: int = 0
    refused: int = 0
    problems: int = 0
    resolved: int = 0
    orders_written: int = 0
    orders_unchanged: int = 0
    rescheduled: int = 0
    dead: int = 0
    failures: list[str] = field(default_factory=list)


@contextlib.contextmanager
def connection_lock(database_url: str, connection_id: str) -> Iterator[psycopg.Connection]:
    """One partial sync per connection at a time: a second run waits for the first, then finds the
    rows the first settled already done. Yields the (autocommit) connection holding the lock."""
    with connect(database_url, autocommit=True) as conn:
        conn.execute("select pg_advisory_lock(hashtextextended(%s, 0))", (_LOCK_NAMESPACE + connection_id,))
        try:
            yield conn
        finally:
            conn.execute("select pg_advisory_unlock(hashtextextended(%s, 0))", (_LOCK_NAMESPACE + connection_id,))


class PartialSync:
    def __init__(
        self,
        *,
        database_url: str,
        connection: Connection,
        platform: Callable[[], Platform],
        sparklayer: Callable[[], SparkLayerClient],
        sync_id: str,
        policy: RetryPolicy = RetryPolicy(),
        batch_size: int = DEFAULT_BATCH_SIZE,
        clock: Callable[[], datetime] = utc_now,
        linger_seconds: float = 0.0,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
    ):
        self._database_url = database_url
        self._connection = connection
        self._platform = platform
        self._sparklayer = sparklayer
        self._sync_id = sync_id
        self._policy = policy
        self._batch_size = batch_size
        self._clock = clock
        self._linger_seconds = linger_seconds
        self._poll_seconds = poll_seconds

    @property
    def connection_id(self) -> str:
        return self._connection.id

    def run(self) -> PartialSyncOutcome:
        """Work off the due rows, batch by batch, until none have been due for `linger_seconds` (or a
        batch failed). Lingering lets a steady stream of webhooks be served by the run already going
        instead of each change waiting for the sensor and a new run to start."""
        outcome = PartialSyncOutcome(self.connection_id)
        with connection_lock(self._database_url, self.connection_id) as lock_conn:
            idle_until = None
            while True:  # polled on the lock's connection: no new connection per look while lingering
                rows = change_queue.due_rows(lock_conn, self.connection_id, limit=self._batch_size)
                if not rows:
                    idle_until = idle_until or time.monotonic() + self._linger_seconds
                    if time.monotonic() >= idle_until:
                        break
                    time.sleep(min(self._poll_seconds, max(0.0, idle_until - time.monotonic())))
                    continue
                idle_until = None
                outcome.rows += len(rows)
                products = [r for r in rows if r.entity_type in PRODUCT_ENTITIES]
                orders = [r for r in rows if r.entity_type in ORDER_ENTITIES]
                other = [r.id for r in rows if r.entity_type not in PRODUCT_ENTITIES + ORDER_ENTITIES]
                if other:
                    with connect(self._database_url) as conn, conn.transaction():
                        outcome.done += change_queue.mark_done(conn, other)
                failed = False
                if products:
                    failed |= not self._attempt(products, self._sync_products, outcome)
                if orders:
                    failed |= not self._attempt(orders, self._sync_orders, outcome)
                if failed:
                    break  # what is left waits for its backoff; the next run picks it up
        return outcome

    def _attempt(self, rows: list[ChangeRow], work, outcome: PartialSyncOutcome) -> bool:
        ids = [r.id for r in rows]
        try:
            asyncio.run(work(rows, outcome))
            return True
        except (TransientError, PlatformUnavailable) as exc:
            rate_limited = isinstance(exc, TransientError) and exc.status_code == RATE_LIMITED
            self._fail(ids, str(exc), outcome, counts=not rate_limited)
        except (AuthenticationFailed, InvalidCredentials, InvalidConfiguration, PlatformError, SparkLayerError,
                SiteSetupFailed) as exc:
            self._fail(ids, str(exc), outcome, counts=True)
        except Exception as exc:
            self._fail(ids, f"{type(exc).__name__}: {exc}", outcome, counts=True)
            raise
        return False

    def _fail(self, ids: list[int], error: str, outcome: PartialSyncOutcome, *, counts: bool) -> None:
        log.warning("partial sync of %s: %d change(s) to be retried: %s", self.connection_id, len(ids), error)
        with connect(self._database_url) as conn, conn.transaction():
            dead = change_queue.reschedule(
                conn, ids, error, self._policy, counts_as_attempt=counts,
                wait=None if counts else self._policy.base_delay,
            )
        outcome.failures.append(error)
        outcome.dead += len(dead)
        outcome.rescheduled += len(ids) - len(dead)

    # ---- products, variants, stock and prices ----

    async def _sync_products(self, rows: list[ChangeRow], outcome: PartialSyncOutcome) -> None:
        cid = self.connection_id
        named = list(dict.fromkeys(r.entity_id for r in rows))
        with connect(self._database_url) as conn:
            known_variants = sync_state.load_rows(conn, cid, [("variant", i) for i in named])
        # A variant brings its whole product: ask for the product we know it belongs to as well.
        parents = [row.parent_external_id for row in known_variants.values() if row.parent_external_id]
        with self._platform() as platform:
            page = platform.fetch_products(list(dict.fromkeys(named + parents)))
            locations = platform.stock_locations()
        frames = CatalogueFrames()
        frames.add(page)
        desired = payloads.desired_products(frames.frame("products"), frames.frame("variants"))
        slug = payloads.price_list_slug(self._connection.platform)
        stock = list(payloads.stock_bodies(frames.frame("stock")))
        prices = list(payloads.pricing_bodies(frames.frame("prices"), slug))
        problems = payloads.problem_errors(frames.frame("problems"))
        ids = [r.id for r in rows]

        async with self._sparklayer() as client:
            if stock:  # before the stock diff: a location the merchant deleted is created again, empty
                await ensure_stock_locations(client, self._database_url, cid, locations)
            with connect(self._database_url) as conn:
                gone = sync_state.load_rows(conn, cid, [("product", i) for i in page.missing_ids])
                scope = [p.external_id for p in desired] + [key[1] for key in gone]
                state = sync_state.load_rows(conn, cid, [("product", i) for i in scope])
                state.update(sync_state.variants_of(conn, cid, scope))
                state.update(sync_state.load_rows(
                    conn, cid, [("variant", v["external_id"]) for p in desired for v in p.variants]
                ))
                state.update(sync_state.load_rows(conn, cid, [("stock", key) for key, _ in stock]))
                state.update(sync_state.load_rows(conn, cid, [("price", key) for key, _ in prices]))
            # `complete`: every product in `state` was asked for, so one the platform no longer has is gone.
            product_changes = diff.diff_products(desired, state, complete=True)
            stock_changes = diff.diff_records("stock", stock, state, complete=False, write_action="set")
            price_changes = diff.diff_records("price", prices, state, complete=False, write_action="set")
            changes = product_changes.changes + stock_changes.changes + price_changes.changes

            reporter = SyncLogReporter(client, self._database_url, cid, self._sync_id,
                                       integration=self._connection.platform, kind="partial", clock=self._clock)
            data_types = ["products"] + (["stock"] if stock or stock_changes.changes else [])
            for data_type in data_types:
                await reporter.start(data_type)
            for data_type, found in problems.items():
                await reporter.record_and_report(data_type, found)
                outcome.problems += len(found)
            writer = ChangeWriter(client, self._database_url, cid, price_list_slug=slug,
                                  report_errors=reporter.report)
            report = await writer.write(changes, settle_with=lambda conn: self._settled(conn, ids, outcome))
            outcome.writes += report.succeeded
            outcome.refused += report.failed
            self._record_load(report)
            ok = {(o.entity, o.external_id, o.action) for o in report.outcomes if o.ok}
            accepted: dict[str, set[str]] = {}
            for change in changes:
                if (change.entity, change.external_id, change.action) in ok:
                    for entity, external_id in [(change.entity, change.external_id)] + [
                        (a.entity, a.external_id) for a in change.accepts
                    ]:
                        accepted.setdefault(payloads.data_type_of(entity), set()).add(f"{entity}:{external_id}")
            for data_type in data_types:
                await self._close_log(client, data_type, accepted.get(data_type, set()), outcome)

    def _record_load(self, report: LoadReport) -> None:
        """Writes tried and accepted per data type, for the success rate in `sync_health`."""
        tried: Counter[str] = Counter()
        accepted: Counter[str] = Counter()
        for result in report.outcomes:
            data_type = payloads.data_type_of(result.entity)
            tried[data_type] += 1
            accepted[data_type] += bool(result.ok)
        with connect(self._database_url) as conn:
            for data_type in tried:
                load_stats.record(conn, load_stats.LoadOutcome(
                    self.connection_id, self._sync_id, "partial", data_type, "partial_sync",
                    attempted=tried[data_type], succeeded=accepted[data_type],
                ))

    def _settled(self, conn: psycopg.Connection, ids: Sequence[int], outcome: PartialSyncOutcome) -> None:
        outcome.done += change_queue.mark_done(conn, ids)

    async def _close_log(
        self, client: SparkLayerClient, data_type: str, accepted: set[str], outcome: PartialSyncOutcome
    ) -> None:
        """PATCH `last_partial_sync` and the errors these writes resolved; then close them locally."""
        with connect(self._database_url) as conn:
            open_ids = {e["external_id"] for e in sync_log.open_errors(conn, self.connection_id, data_type)}
        resolved = sorted(open_ids & accepted)
        await client.patch_sync_log(
            self._connection.platform, data_type,
            sl.PartialSyncLog(last_partial_sync=self._clock(), resolved_external_ids=resolved),
        )
        if resolved:
            with connect(self._database_url) as conn, conn.transaction():
                outcome.resolved += len(sync_log.resolve(conn, self.connection_id, data_type, resolved))

    # ---- orders ----

    async def _sync_orders(self, rows: list[ChangeRow], outcome: PartialSyncOutcome) -> None:
        named = list(dict.fromkeys(r.entity_id for r in rows))
        with self._platform() as platform:
            orders = platform.fetch_orders(named)
        ids = [r.id for r in rows]
        async with self._sparklayer() as client:
            await send_orders(client, self._database_url, self._connection, self._sync_id, orders, self._clock,
                              settle_with=lambda conn: self._settled(conn, ids, outcome), outcome=outcome)


async def send_orders(
    client: SparkLayerClient,
    database_url: str,
    connection: Connection,
    sync_id: str,
    orders,
    clock: Callable[[], datetime] = utc_now,
    *,
    settle_with=None,
    outcome: PartialSyncOutcome | None = None,
):
    """Write orders as purchases and tell the purchases sync log: new errors, resolved ones, the time."""
    reporter = SyncLogReporter(client, database_url, connection.id, sync_id, integration=connection.platform,
                               kind="partial", clock=clock)
    await reporter.start(PURCHASES)
    report = await PurchaseWriter(client, database_url, connection.id).write(orders, settle_with=settle_with)
    if report.errors:
        await reporter.report(PURCHASES, report.errors)
    with connect(database_url) as conn:
        open_ids = {e["external_id"] for e in sync_log.open_errors(conn, connection.id, PURCHASES)}
    resolved = sorted(open_ids & set(report.resolved))
    await client.patch_sync_log(
        connection.platform, PURCHASES, sl.PartialSyncLog(last_partial_sync=clock(), resolved_external_ids=resolved)
    )
    if resolved:
        with connect(database_url) as conn, conn.transaction():
            sync_log.resolve(conn, connection.id, PURCHASES, resolved)
    if outcome is not None:
        outcome.orders_written += len(report.written)
        outcome.orders_unchanged += len(report.unchanged)
        outcome.refused += len(report.errors)
        outcome.resolved += len(resolved)
    return report


def replay_dead_letters(database_url: str, connection_id: str, since: datetime | None = None) -> int:
    """Requeue a connection's dead letters (received since `since`); returns how many."""
    with connect(database_url) as conn, conn.transaction():
        return change_queue.requeue_dead(conn, connection_id, since=since)

