"""The full sync of one connection as plain steps, each callable without Dagster: extract the store, diff it
against what SparkLayer last accepted, set the site up, write the diff, close the sync log.

The Dagster assets (`ignite_etl/defs/sync/assets.py`) only wire these: they hand in the connection, the sync
(`SyncRun`), the upstream frames and the services, and turn the `StepResult` into an output with metadata.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ignite_etl import diff
from ignite_etl.diff import Change, ChangeSet, unannounced
from ignite_etl.platforms import Platform, platform_spec
from ignite_etl.sparklayer.client import SparkLayerClient
from ignite_etl.store import load_stats, sync_failures, sync_log, sync_state
from ignite_etl.store.connections import Connection
from ignite_etl.store.database import Database
from ignite_etl.store.frames import FrameStore, variant_owners
from ignite_etl.store.sync_log import SyncError
from ignite_etl.sync import payloads
from ignite_etl.sync.extract import CatalogueFrames, customers_frame
from ignite_etl.sync.setup import set_up_site
from ignite_etl.sync.sync_log import SyncLogReporter
from ignite_etl.sync.writer import ChangeWriter, LoadReport, changes_frame, changes_from_frame, sorted_changes

PROBLEM = "problem"
ANNOUNCED = "announced"
CATALOGUE = ("products", "variants", "stock", "prices", "problems")


@dataclass(frozen=True)
class SyncRun:
    """One full sync of one connection: `sync_id` is stable across retries (Dagster's root run id), `kind`
    is full or reconcile, `reexecuted` says it continues a sync that failed."""

    connection: Connection
    sync_id: str
    kind: str = "full"
    reexecuted: bool = False


@dataclass
class StepResult:
    """What a step gives its asset: the frame to store and plain metadata (frames in it are previews)."""

    frame: pd.DataFrame
    metadata: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Services:
    """What the steps call: the app database, the asset tables, and the clients of a connection."""

    db: Database
    sparklayer: Callable[[Connection], SparkLayerClient]
    platform: Callable[[Connection], Platform]

    @property
    def frames(self) -> FrameStore:
        return FrameStore(self.db.url)


# ---- extract ----


def extract_catalogue(services: Services, run: SyncRun) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """The store's catalogue in one pass, page by page: the five extract frames, and what the pass took."""
    started = time.monotonic()
    frames = CatalogueFrames()
    with services.platform(run.connection) as platform:
        for page in platform.iter_catalogue():
            frames.add(page)
    metadata = {"pages": frames.pages, "duration_s": round(time.monotonic() - started, 2),
                "products": len(frames.products)}
    return {name: frames.frame(name) for name in CATALOGUE}, metadata


def extract_customers(services: Services, run: SyncRun) -> pd.DataFrame:
    with services.platform(run.connection) as platform:
        return customers_frame(platform.iter_customers())


# ---- diff ----


def product_changes(services: Services, run: SyncRun, products: pd.DataFrame, problems: pd.DataFrame,
                    variants_table: tuple[str, str]) -> StepResult:
    """Creates, updates and discontinues against what SparkLayer last accepted; the variants extract is read
    a chunk at a time (the largest extract, never held whole)."""
    cid = run.connection.id
    with services.db.connect() as conn:
        state = sync_state.load_state(conn, cid, ["product", "variant"])
    desired = payloads.iter_desired_products(products, services.frames.iter_slice(*variants_table, cid))
    changes = diff.diff_products(desired, state, complete=True)
    found = payloads.problem_errors(problems).get("products", [])
    return changes_output(changes, found, drift(services, run, changes, variants_table))


def stock_changes(services: Services, run: SyncRun, stock: pd.DataFrame, problems: pd.DataFrame,
                  variants_table: tuple[str, str]) -> StepResult:
    """Stock levels that differ; a SKU the store no longer reports drops to 0 once."""
    with services.db.connect() as conn:
        state = sync_state.load_state(conn, run.connection.id, ["stock"])
    changes = diff.diff_records("stock", payloads.stock_bodies(stock), state, complete=True, write_action="set",
                                vanished=payloads.zero_stock_body)
    found = payloads.problem_errors(problems).get("stock", [])
    return changes_output(changes, found, drift(services, run, changes, variants_table))


def price_changes(services: Services, run: SyncRun, prices: pd.DataFrame, variants_table: tuple[str, str]) -> StepResult:
    with services.db.connect() as conn:
        state = sync_state.load_state(conn, run.connection.id, ["price"])
    slug = payloads.price_list_slug(run.connection.platform)
    changes = diff.diff_records("price", payloads.pricing_bodies(prices, slug), state, complete=True,
                                write_action="set")
    return changes_output(changes, [], drift(services, run, changes, variants_table))


def customer_changes(services: Services, run: SyncRun, customers: pd.DataFrame) -> StepResult:
    """Customers to create or update (the fields the store owns), and those that left the store."""
    with services.db.connect() as conn:
        state = sync_state.load_state(conn, run.connection.id, ["customer"])
    bodies, problems = payloads.customer_bodies(customers)
    changes = diff.diff_records("customer", bodies, state, complete=True, write_action="upsert", delete_vanished=True)
    return changes_output(changes, problems, drift(services, run, changes))


def changes_output(changes: ChangeSet, problems: Sequence[SyncError], drifted: Sequence[Change] | None = None
                   ) -> StepResult:
    """A diff frame: one `problem` row per record that cannot be sent, then one row per write in the order
    the writer sends them. With `drifted` (the changes no webhook announced), each write row says whether it
    was `announced`."""
    frame = changes_frame(sorted_changes(changes.changes))  # stored in write order: the load streams it
    if drifted is not None:
        unannounced_keys = {(c.entity, c.external_id) for c in drifted}
        frame[ANNOUNCED] = pd.array(
            [(e, k) not in unannounced_keys for e, k in zip(frame["entity"], frame["external_id"])], dtype="boolean"
        )
    if problems:
        problem_rows = pd.DataFrame(
            [{"entity": p.entity, "external_id": p.external_id, "action": PROBLEM, "parent_external_id": None,
              "body": p.__dict__, "accepts": []} for p in problems]
        )
        frame = pd.concat([problem_rows, frame], ignore_index=True)
    metadata: dict[str, Any] = {**changes.counts(), "writes": len(changes.changes), "problems": len(problems),
                                "preview": frame.drop(columns=["accepts"])}
    if drifted is not None:
        metadata["unannounced"] = len(drifted)
    return StepResult(frame, metadata)


def drift(services: Services, run: SyncRun, changes: ChangeSet,
          variants_table: tuple[str, str] | None = None) -> list[Change] | None:
    """The changes no webhook announced since the previous full sync; None without one to compare with.
    With the stored variants extract, a change also counts as announced through the product or variant it
    belongs to (looked up for just these changes' ids and SKUs)."""
    cid = run.connection.id
    with services.db.connect() as conn:
        announced = load_stats.announced_since_last_full_sync(conn, cid, excluding_sync=run.sync_id)
        if announced is None:
            return None
        related = (related_ids(conn, cid, changes.changes, variants_table)
                   if variants_table and changes.changes else {})
    return unannounced(changes.changes, set(announced.entity_ids), related)


def related_ids(conn, connection_id: str, changes: Sequence[Change], variants_table: tuple[str, str]
                ) -> dict[str, list[str]]:
    """Which platform records each change belongs to: a variant's product, a SKU's variant and product."""
    wanted = {c.external_id for c in changes}
    wanted |= {str(sku) for c in changes if (sku := (c.body or {}).get("sku"))}
    related: dict[str, list[str]] = {}
    for row in variant_owners(conn, variants_table, connection_id, sorted(wanted)):
        variant_id, product_id = str(row["external_id"]), str(row["product_external_id"])
        related[variant_id] = [product_id]
        if row["sku"]:
            related[row["sku"]] = [variant_id, product_id]
    return related


# ---- site setup, loads and the sync log ----


def set_up(services: Services, run: SyncRun, *, dry_run: bool, log_kind: str = "full") -> StepResult:
    """The site's setup (price list, stock locations, base currency); a refused base currency goes to the sync
    log (a full sync's, `log_kind`, once it has started) and the step goes on."""
    connection = run.connection
    with services.platform(connection) as platform:
        currency = platform.store_settings().base_currency
        locations = platform.stock_locations()
        more_price_lists = [payloads.store_price_list(p) for p in platform.price_lists()]
    price_list = payloads.price_list_for(connection.platform, currency)

    async def main():
        async with services.sparklayer(connection) as client:
            reporter = SyncLogReporter(client, services.db, connection.id, run.sync_id,
                                       integration=connection.platform, kind=log_kind)
            return await set_up_site(client, services.db, connection.id, price_list=price_list,
                                     more_price_lists=more_price_lists, locations=locations, reporter=reporter,
                                     dry_run=dry_run)

    setup = asyncio.run(main())
    metadata: dict[str, Any] = {"dry_run": dry_run, "base_currency": currency,
                                "price_list": ", ".join([price_list.slug, *(p.slug for p in more_price_lists)]),
                                "stock_locations": ", ".join(setup.stock_locations), "written": len(setup.written)}
    warnings = []
    if setup.failure_reason:
        metadata["refused"] = setup.failure_reason
        warnings.append(f"{setup.failure_reason}; it is in the sync log, and the sync goes on")
    return StepResult(pd.DataFrame({"written": setup.written}), metadata, warnings)


def load_changes(services: Services, run: SyncRun, changes_table: tuple[str, str], *, data_type: str,
                 load_name: str, dry_run: bool) -> StepResult:
    """Write the diff stored in `changes_table` (schema, table), reading it a chunk at a time: at 100,000
    products the whole diff, parsed, took ~750 MiB."""
    connection = run.connection
    stream = _DiffStream(services.frames, changes_table, connection.id)
    if dry_run:
        frames = [frame.drop(columns=["accepts"]) for frame in stream.frames()]
        planned = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        problems = int((planned["action"] == PROBLEM).sum()) if not planned.empty else 0
        return StepResult(planned, {"dry_run": True, "writes_planned": len(planned) - problems, "problems": problems,
                                    "preview": planned})

    reopen_if_reexecuted(services, run)
    started = time.monotonic()
    store_name = platform_spec(connection.platform).display_name

    async def main() -> tuple[LoadReport, dict]:
        async with services.sparklayer(connection) as client:
            reporter = SyncLogReporter(client, services.db, connection.id, run.sync_id,
                                       integration=connection.platform)
            await reporter.start(data_type)
            writer = ChangeWriter(client, services.db, connection.id,
                                  price_list_slug=payloads.price_list_slug(connection.platform),
                                  report_errors=reporter.report, store_name=store_name)
            batches = stream.changes()
            first = next(batches, [])  # a stored diff starts with its problems: they are gathered by now
            await reporter.record_and_report(data_type, stream.problems)
            reported = len(stream.problems)
            report = await writer.write_stream(itertools.chain([first], batches))
            await reporter.record_and_report(data_type, stream.problems[reported:])  # over a chunk of them
            return report, client.stats.snapshot()

    report, stats = asyncio.run(main())
    with services.db.connect() as conn:
        measured = load_stats.previous_full_sync_start(conn, connection.id, excluding_sync=run.sync_id)
        drifted = stream.unannounced if measured else None
        load_stats.record(conn, load_stats.LoadOutcome(
            connection.id, run.sync_id, run.kind, data_type, load_name,
            attempted=len(report.outcomes), succeeded=report.succeeded, unannounced=drifted,
        ))
    done = Counter(o.action for o in report.outcomes if o.ok)
    metadata: dict[str, Any] = {
        "created": done["create"] + done["add_variants"],
        "updated": done["update"] + done["set"] + done["upsert"],
        "discontinued": done["discontinue"],
        "deleted": done["delete"],
        "failed": report.failed,
        "problems": len(stream.problems),
        "error_rate": round(report.failed / len(report.outcomes), 4) if report.outcomes else 0.0,
        "requests": stats["requests"],
        "retried": stats["retries"],
        "rate_limited_waits": stats["rate_limited"],
        "duration_s": round(time.monotonic() - started, 2),
        "preview": report.frame(),
        "errors": pd.DataFrame([e.__dict__ for e in report.errors + stream.problems]),
    }
    if drifted is not None:
        metadata["unannounced"] = drifted
    warnings = [f"{report.failed} record(s) refused by SparkLayer; they are in the sync log and retried next sync"
                ] if report.failed else []
    return StepResult(report.frame(), metadata, warnings)


def close_sync_log(services: Services, run: SyncRun, *, dry_run: bool) -> StepResult:
    """Every load of this sync ran: tell SparkLayer the full sync is complete, once per data type."""
    connection = run.connection
    if not dry_run:
        reopen_if_reexecuted(services, run)
    with services.db.connect() as conn:
        open_types = [r["data_type"] for r in sync_log.started_in(conn, connection.id, run.sync_id)]
    if dry_run or not open_types:
        return StepResult(pd.DataFrame({"data_type": open_types, "closed": False}), {"closed": 0})

    async def main() -> list[bool]:
        async with services.sparklayer(connection) as client:
            reporter = SyncLogReporter(client, services.db, connection.id, run.sync_id,
                                       integration=connection.platform)
            return [await reporter.finish(data_type) for data_type in open_types]

    closed = asyncio.run(main())
    return StepResult(pd.DataFrame({"data_type": open_types, "closed": closed}),
                      {"closed": sum(closed), "data_types": ", ".join(open_types)})


def reopen_if_reexecuted(services: Services, run: SyncRun) -> None:
    """A re-execution continues its sync: if the failure sensor marked that sync failed, reopen it so it can
    still close with last_full_sync."""
    if run.reexecuted:
        with services.db.connect() as conn:
            sync_failures.reopen(conn, run.connection.id, run.sync_id)


@dataclass
class _DiffStream:
    """A stored diff read a chunk at a time: the writes as Changes, the problem rows and the drift count
    gathered on the way."""

    store: FrameStore
    table: tuple[str, str]
    connection_id: str
    problems: list[SyncError] = field(default_factory=list)
    unannounced: int = 0

    def frames(self) -> Iterator[pd.DataFrame]:
        return self.store.iter_slice(*self.table, self.connection_id)

    def changes(self) -> Iterator[list[Change]]:
        for frame in self.frames():
            is_problem = frame["action"] == PROBLEM
            self.problems += [SyncError(**body) for body in frame.loc[is_problem, "body"]]
            writes = frame.loc[~is_problem]
            if ANNOUNCED in writes.columns:
                self.unannounced += int((writes[ANNOUNCED] == False).sum())  # noqa: E712 - nullable booleans
            yield changes_from_frame(writes)
