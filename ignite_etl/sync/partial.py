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

from ignite_etl import diff
from ignite_etl.platforms import (
    InvalidConfiguration,
    InvalidCredentials,
    Platform,
    PlatformError,
    PlatformUnavailable,
    platform_spec,
)
from ignite_etl.sparklayer.client import SparkLayerClient
from ignite_etl.sparklayer.errors import AuthenticationFailed, SparkLayerError, TransientError
from ignite_etl.store import change_queue, load_stats, sync_log, sync_state
from ignite_etl.store.change_queue import ChangeRow, RetryPolicy
from ignite_etl.store.connections import Connection
from ignite_etl.store.database import Conn, Database, advisory_lock
from ignite_etl.sync import payloads
from ignite_etl.sync.entities import data_type_of
from ignite_etl.sync.extract import CatalogueFrames, customers_frame
from ignite_etl.sync.orders import DATA_TYPE as PURCHASES
from ignite_etl.sync.orders import PurchaseWriter
from ignite_etl.sync.setup import SiteSetupFailed, ensure_stock_locations, set_up_site
from ignite_etl.sync.sync_log import SyncLogReporter, utc_now
from ignite_etl.sync.writer import ChangeWriter, LoadReport

log = logging.getLogger(__name__)

PRODUCT_ENTITIES = ("product", "variant", "stock")  # a product is re-fetched whole for any of them
ORDER_ENTITIES = ("order",)
CUSTOMER_ENTITIES = ("customer",)
SETTINGS_ENTITIES = ("settings",)
CUSTOMERS = "customers"
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
def connection_lock(db: Database, connection_id: str) -> Iterator[Conn]:
    """One partial sync per connection at a time: a second run waits for the first, then finds the
    rows the first settled already done. Yields the (autocommit) connection holding the lock."""
    with db.connect(autocommit=True) as conn, advisory_lock(conn, _LOCK_NAMESPACE + connection_id):
        yield conn


class PartialSync:
    def __init__(
        self,
        *,
        db: Database,
        connection: Connection,
        platform: Callable[[], Platform],
        sparklayer: Callable[[], SparkLayerClient],
        sync_id: str,
        policy: RetryPolicy | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        clock: Callable[[], datetime] = utc_now,
        linger_seconds: float = 0.0,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
    ):
        self._db = db
        self._connection = connection
        self._platform = platform
        self._sparklayer = sparklayer
        self._sync_id = sync_id
        self._policy = policy or RetryPolicy()
        self._batch_size = batch_size
        self._clock = clock
        self._linger_seconds = linger_seconds
        self._poll_seconds = poll_seconds

    @property
    def connection_id(self) -> str:
        return self._connection.id

    @property
    def _store_name(self) -> str:
        return platform_spec(self._connection.platform).display_name

    def run(self) -> PartialSyncOutcome:
        """Work off the due rows, batch by batch, until none have been due for `linger_seconds` (or a
        batch failed). Lingering lets a steady stream of webhooks be served by the run already going
        instead of each change waiting for the sensor and a new run to start."""
        outcome = PartialSyncOutcome(self.connection_id)
        with connection_lock(self._db, self.connection_id) as lock_conn:
            self._close_owed_logs(lock_conn, outcome)
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
                handled = ((PRODUCT_ENTITIES, self._sync_products), (ORDER_ENTITIES, self._sync_orders),
                           (CUSTOMER_ENTITIES, self._sync_customers), (SETTINGS_ENTITIES, self._sync_settings))
                known = {entity for entities, _ in handled for entity in entities}
                other = [r.id for r in rows if r.entity_type not in known]
                if other:
                    with self._db.connect() as conn, conn.transaction():
                        outcome.done += change_queue.mark_done(conn, other)
                failed = False
                for entities, work in handled:
                    batch = [r for r in rows if r.entity_type in entities]
                    if batch:
                        failed |= not self._attempt(batch, work, outcome)
                if failed:
                    break  # what is left waits for its backoff; the next run picks it up
        return outcome

    def _close_owed_logs(self, conn: Conn, outcome: PartialSyncOutcome) -> None:
        """Closing PATCHes an earlier run could not send (SparkLayer down, a crash after its rows were settled)."""
        if not sync_log.pending_closes(conn, self.connection_id):
            return

        async def close() -> int:
            async with self._sparklayer() as client:
                return await SyncLogReporter(client, self._db, self.connection_id, self._sync_id,
                                             integration=self._connection.platform, kind="partial",
                                             clock=self._clock).close_pending()

        try:
            outcome.resolved += asyncio.run(close())
        except SparkLayerError as exc:
            log.warning("partial sync of %s: the owed sync-log close is still owed: %s", self.connection_id, exc)

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
        with self._db.connect() as conn, conn.transaction():
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
        with self._db.connect() as conn:
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
                await ensure_stock_locations(client, self._db, cid, locations)
            with self._db.connect() as conn:
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

            reporter = SyncLogReporter(client, self._db, cid, self._sync_id,
                                       integration=self._connection.platform, kind="partial", clock=self._clock)
            data_types = ["products"] + (["stock"] if stock or stock_changes.changes else [])
            for data_type in data_types:
                await reporter.start(data_type)
            for data_type, found in problems.items():
                await reporter.record_and_report(data_type, found)
                outcome.problems += len(found)
            reporter.expect_close(data_types)
            writer = ChangeWriter(client, self._db, cid, price_list_slug=slug, report_errors=reporter.report,
                                  store_name=self._store_name)
            report = await writer.write(changes, settle_with=lambda conn: self._settled(conn, ids, outcome))
            outcome.writes += report.succeeded
            outcome.refused += report.failed
            self._record_load(report)
            outcome.resolved += await reporter.close_pending()

    def _record_load(self, report: LoadReport) -> None:
        """Writes tried and accepted per data type, for the success rate in `sync_health`."""
        tried: Counter[str] = Counter()
        accepted: Counter[str] = Counter()
        for result in report.outcomes:
            data_type = data_type_of(result.entity)
            tried[data_type] += 1
            accepted[data_type] += bool(result.ok)
        with self._db.connect() as conn:
            for data_type in tried:
                load_stats.record(conn, load_stats.LoadOutcome(
                    self.connection_id, self._sync_id, "partial", data_type, "partial_sync",
                    attempted=tried[data_type], succeeded=accepted[data_type],
                ))

    def _settled(self, conn: Conn, ids: Sequence[int], outcome: PartialSyncOutcome) -> None:
        outcome.done += change_queue.mark_done(conn, ids)

    # ---- orders ----

    async def _sync_orders(self, rows: list[ChangeRow], outcome: PartialSyncOutcome) -> None:
        named = list(dict.fromkeys(r.entity_id for r in rows))
        with self._platform() as platform:
            orders = platform.fetch_orders(named)
        ids = [r.id for r in rows]
        async with self._sparklayer() as client:
            await send_orders(client, self._db, self._connection, self._sync_id, orders, self._clock,
                              settle_with=lambda conn: self._settled(conn, ids, outcome), outcome=outcome)

    # ---- customers ----

    async def _sync_customers(self, rows: list[ChangeRow], outcome: PartialSyncOutcome) -> None:
        """The named customers as the platform has them now: written when changed, deleted from SparkLayer
        when the platform no longer has them (or they no longer qualify as B2B customers)."""
        cid = self.connection_id
        named = list(dict.fromkeys(r.entity_id for r in rows))
        ids = [r.id for r in rows]
        with self._platform() as platform:
            found = platform.fetch_customers(named)
        if found is None:  # the platform's customers are synced by the full sync only
            with self._db.connect() as conn, conn.transaction():
                self._settled(conn, ids, outcome)
            return
        bodies, problems = payloads.customer_bodies(customers_frame(found))
        present = {c.external_id for c in found}
        with self._db.connect() as conn:
            state = sync_state.load_rows(conn, cid, [("customer", i) for i in named])
            # a field problem (`customer:{id}:{field}`) of a customer read again that no longer has it is mended
            reported = {p.external_id for p in problems}
            mended = {e["external_id"] for e in sync_log.open_errors(conn, cid, CUSTOMERS)
                      if e["external_id"].count(":") == 2 and e["external_id"].split(":")[1] in present
                      and e["external_id"] not in reported}
        changes = diff.diff_records("customer", bodies, state, complete=False, write_action="upsert").changes
        changes += [diff.Change("customer", key, "delete", None, ()) for (_, key) in state if key not in present]
        async with self._sparklayer() as client:
            reporter = SyncLogReporter(client, self._db, cid, self._sync_id, integration=self._connection.platform,
                                       kind="partial", clock=self._clock)
            await reporter.start(CUSTOMERS)
            if problems:
                await reporter.record_and_report(CUSTOMERS, problems)
                outcome.problems += len(problems)
            reporter.expect_close([CUSTOMERS])
            writer = ChangeWriter(client, self._db, cid, price_list_slug=payloads.price_list_slug(self._connection.platform),
                                  report_errors=reporter.report, store_name=self._store_name)
            report = await writer.write(changes, settle_with=lambda conn: self._settled(conn, ids, outcome))
            outcome.writes += report.succeeded
            outcome.refused += report.failed
            self._record_load(report)
            deleted = {f"customer:{o.external_id}" for o in report.outcomes if o.ok and o.action == "delete"}
            outcome.resolved += await reporter.close_pending({CUSTOMERS: deleted | mended})

    # ---- store settings ----

    async def _sync_settings(self, rows: list[ChangeRow], outcome: PartialSyncOutcome) -> None:
        """The store's settings changed (e.g. its base currency): set the site up again."""
        ids = [r.id for r in rows]
        with self._platform() as platform:
            currency = platform.store_settings().base_currency
            locations = platform.stock_locations()
        async with self._sparklayer() as client:
            reporter = SyncLogReporter(client, self._db, self.connection_id, self._sync_id,
                                       integration=self._connection.platform, kind="partial", clock=self._clock)
            await set_up_site(client, self._db, self.connection_id,
                              price_list=payloads.price_list_for(self._connection.platform, currency),
                              locations=locations, reporter=reporter)
        with self._db.connect() as conn, conn.transaction():
            self._settled(conn, ids, outcome)


async def send_orders(
    client: SparkLayerClient,
    db: Database,
    connection: Connection,
    sync_id: str,
    orders,
    clock: Callable[[], datetime] = utc_now,
    *,
    settle_with=None,
    outcome: PartialSyncOutcome | None = None,
):
    """Write orders as purchases and tell the purchases sync log: new errors, resolved ones, the time."""
    reporter = SyncLogReporter(client, db, connection.id, sync_id, integration=connection.platform,
                               kind="partial", clock=clock)
    await reporter.start(PURCHASES)
    reporter.expect_close([PURCHASES])
    store_name = platform_spec(connection.platform).display_name
    report = await PurchaseWriter(client, db, connection.id, store_name=store_name).write(orders, settle_with=settle_with)
    if report.errors:
        await reporter.report(PURCHASES, report.errors)
    resolved = await reporter.close_pending({PURCHASES: report.resolved})
    if outcome is not None:
        outcome.orders_written += len(report.written)
        outcome.orders_unchanged += len(report.unchanged)
        outcome.refused += len(report.errors)
        outcome.resolved += resolved
    return report


def replay_dead_letters(db: Database, connection_id: str, since: datetime | None = None) -> int:
    """Requeue a connection's dead letters (received since `since`); returns how many."""
    with db.connect() as conn, conn.transaction():
        return change_queue.requeue_dead(conn, connection_id, since=since)

