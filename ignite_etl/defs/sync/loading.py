"""What the SparkLayer assets do, kept out of the asset declarations: run the writer and the sync-log
reporter for one connection, and describe the outcome in metadata the data team reads in the UI."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import dagster as dg
import pandas as pd
import psycopg
from psycopg import sql

from ignite_etl.defs.resources import SyncServices
from ignite_etl.diff import Change, ChangeSet, unannounced
from ignite_etl.sparklayer.models import PartialSyncLog
from ignite_etl.store import load_stats, sync_failures, sync_log
from ignite_etl.store.frames import FrameStore
from ignite_etl.store.sync_log import SyncError
from ignite_etl.sync.payloads import price_list_for, price_list_slug
from ignite_etl.sync.setup import SiteSetup, set_up_site
from ignite_etl.sync.sync_log import SyncLogReporter
from ignite_etl.sync.writer import ChangeWriter, LoadReport, changes_frame, changes_from_frame, sorted_changes

PREVIEW_ROWS = 10
PROBLEM = "problem"
ANNOUNCED = "announced"
SYNC_KIND_TAG = "ignite/sync_kind"


def preview(frame: pd.DataFrame, rows: int = PREVIEW_ROWS) -> dg.MetadataValue:
    """The first rows as a Markdown table for the asset page."""
    if frame is None or frame.empty:
        return dg.MetadataValue.md("_no rows_")
    head = frame.head(rows)
    lines = ["| " + " | ".join(map(str, head.columns)) + " |", "|" + "---|" * len(head.columns)]
    lines += [
        "| " + " | ".join(str(v).replace("|", "\\|")[:80] for v in row) + " |"
        for row in head.itertuples(index=False)
    ]
    return dg.MetadataValue.md("\n".join(lines))


def changes_output(
    changes: ChangeSet, problems: Sequence[SyncError], drift: Sequence[Change] | None = None
) -> dg.Output[pd.DataFrame]:
    """A diff frame: one `problem` row per record that cannot be sent, then one row per write in the
    order the writer sends them.

    With `drift` (the changes no webhook announced), each write row says whether it was `announced`."""
    frame = changes_frame(sorted_changes(changes.changes))  # stored in write order: the load streams it
    if drift is not None:
        unannounced_keys = {(c.entity, c.external_id) for c in drift}
        frame[ANNOUNCED] = pd.array(
            [(e, k) not in unannounced_keys for e, k in zip(frame["entity"], frame["external_id"])], dtype="boolean"
        )
    if problems:
        problem_rows = pd.DataFrame(
            [{"entity": p.entity, "external_id": p.external_id, "action": PROBLEM, "parent_external_id": None,
              "body": p.__dict__, "accepts": []} for p in problems]
        )
        frame = pd.concat([problem_rows, frame], ignore_index=True)
    metadata = {**changes.counts(), "writes": len(changes.changes), "problems": len(problems),
                "preview": preview(frame.drop(columns=["accepts"]))}
    if drift is not None:
        metadata["unannounced"] = dg.MetadataValue.int(len(drift))
    return dg.Output(frame, metadata=metadata)


def related_ids(
    conn: psycopg.Connection, connection_id: str, changes: Sequence[Change], variants_table: tuple[str, str]
) -> dict[str, list[str]]:
    """Which platform records each change belongs to: a variant's product, a SKU's variant and product.
    Looked up in the stored variants extract (this run's) for just the ids and SKUs these changes carry:
    loading the whole extract into every diff step cost ~200 MiB at 100,000 products, and an unchanged
    sync needs none of it."""
    wanted = {c.external_id for c in changes} | {(c.body or {}).get("sku") for c in changes}
    wanted.discard(None)
    if not wanted:
        return {}
    rows = conn.execute(
        sql.SQL("select external_id, product_external_id, sku from {} where connection_id = %s "
                "and (external_id = any(%s) or sku = any(%s))").format(sql.Identifier(*variants_table)),
        (connection_id, list(wanted), list(wanted)),
    )
    related: dict[str, list[str]] = {}
    for row in rows:
        variant_id, product_id = str(row["external_id"]), str(row["product_external_id"])
        related[variant_id] = [product_id]
        if row["sku"]:
            related[row["sku"]] = [variant_id, product_id]
    return related


def drift(
    context: dg.AssetExecutionContext, services: SyncServices, changes: ChangeSet, *,
    variants_table: tuple[str, str] | None = None,
) -> list[Change] | None:
    """The changes no webhook announced since the previous full sync; None without one to compare with.
    With the stored variants extract, a change also counts as announced through the product or variant
    it belongs to."""
    with services.app_db.connect() as conn:
        announced = load_stats.announced_since_last_full_sync(conn, context.partition_key,
                                                              excluding_sync=sync_id_of(context))
        if announced is None:
            return None
        related = (related_ids(conn, context.partition_key, changes.changes, variants_table)
                   if variants_table and changes.changes else {})
    return unannounced(changes.changes, set(announced.entity_ids), related)


def reopen_if_reexecuted(context: dg.AssetExecutionContext, services: SyncServices) -> None:
    """A re-execution continues its sync: if the failure sensor marked that sync failed, reopen it so
    it can still close with last_full_sync."""
    if context.run.root_run_id:
        with services.app_db.connect() as conn:
            sync_failures.reopen(conn, context.partition_key, sync_id_of(context))


def sync_kind_of(context: dg.AssetExecutionContext) -> str:
    kind = context.run.tags.get(SYNC_KIND_TAG, "full")
    return kind if kind in ("full", "reconcile", "partial") else "full"


def sync_id_of(context: dg.AssetExecutionContext) -> str:
    """Stable across retries of one sync: the root of the re-execution chain."""
    return context.run.root_run_id or context.run.run_id


@dataclass
class _DiffStream:
    """A stored diff read a chunk at a time: the writes as Changes, the problem rows and the drift
    count gathered on the way."""

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


def load_changes(
    context: dg.AssetExecutionContext, services: SyncServices, changes_table: tuple[str, str], *, data_type: str,
    dry_run: bool,
) -> dg.Output[pd.DataFrame]:
    """Write the diff stored in `changes_table` (schema, table), reading it a chunk at a time: at
    100,000 products the whole diff, parsed, took ~750 MiB."""
    connection_id = context.partition_key
    connection = services.app_db.connection(connection_id)
    diff_stream = _DiffStream(FrameStore(services.app_db.url), changes_table, connection_id)
    if dry_run:
        frames = [frame.drop(columns=["accepts"]) for frame in diff_stream.frames()]
        planned = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        problems = int((planned["action"] == PROBLEM).sum()) if not planned.empty else 0
        context.log.info("dry run: %d write(s) and %d problem(s) not sent", len(planned) - problems, problems)
        return dg.Output(planned, metadata={"dry_run": True, "writes_planned": len(planned) - problems,
                                            "problems": problems, "preview": preview(planned)})

    reopen_if_reexecuted(context, services)
    started = time.monotonic()
    database_url = services.app_db.url

    async def run() -> tuple[LoadReport, dict]:
        async with services.sparklayer(connection) as client:
            reporter = SyncLogReporter(client, database_url, connection_id, sync_id_of(context),
                                       integration=connection.platform)
            await reporter.start(data_type)
            writer = ChangeWriter(client, database_url, connection_id, price_list_slug=price_list_slug(connection.platform),
                                  report_errors=reporter.report)
            batches = diff_stream.changes()
            first = next(batches, [])  # a stored diff starts with its problems: they are gathered by now
            await reporter.record_and_report(data_type, diff_stream.problems)
            reported = len(diff_stream.problems)
            report = await writer.write_stream(itertools.chain([first], batches))
            await reporter.record_and_report(data_type, diff_stream.problems[reported:])  # over a chunk of them
            return report, client.stats.snapshot()

    report, stats = asyncio.run(run())
    problems = diff_stream.problems
    with services.app_db.connect() as conn:
        measured = load_stats.previous_full_sync_start(conn, connection_id, excluding_sync=sync_id_of(context))
        drifted = diff_stream.unannounced if measured else None
        load_stats.record(conn, load_stats.LoadOutcome(
            connection_id, sync_id_of(context), sync_kind_of(context), data_type, context.asset_key.to_user_string(),
            attempted=len(report.outcomes), succeeded=report.succeeded, unannounced=drifted,
        ))
    done = Counter(o.action for o in report.outcomes if o.ok)
    metadata = {
        "created": done["create"] + done["add_variants"],
        "updated": done["update"] + done["set"] + done["upsert"],
        "discontinued": done["discontinue"],
        "deleted": done["delete"],
        "failed": report.failed,
        "problems": len(problems),
        "error_rate": round(report.failed / len(report.outcomes), 4) if report.outcomes else 0.0,
        "requests": stats["requests"],
        "retried": stats["retries"],
        "rate_limited_waits": stats["rate_limited"],
        "duration_s": round(time.monotonic() - started, 2),
        "preview": preview(report.frame()),
        "errors": preview(pd.DataFrame([e.__dict__ for e in report.errors + problems])),
    }
    if drifted is not None:
        metadata["unannounced"] = drifted
    if report.failed:
        context.log.warning("%d record(s) refused by SparkLayer; they are in the sync log and retried next sync",
                            report.failed)
    return dg.Output(report.frame(), metadata=metadata)


def load_settings(context, services: SyncServices, *, dry_run: bool, log_kind: str = "full") -> dg.Output[pd.DataFrame]:
    """The site's setup (price list, stock locations, base currency): `sync.setup` does the work. A refusal
    of the base currency goes to the sync log, a full sync's (`log_kind`) once it has started."""
    connection_id = context.partition_key
    connection = services.app_db.connection(connection_id)
    with services.platform(connection) as platform:
        currency = platform.store_settings().base_currency
        locations = platform.stock_locations()
    price_list = price_list_for(connection.platform, currency)

    async def main() -> SiteSetup:
        async with services.sparklayer(connection) as client:
            reporter = SyncLogReporter(client, services.app_db.url, connection_id, sync_id_of(context),
                                       integration=connection.platform, kind=log_kind)

            async def report(data_type: str, errors: list[SyncError]) -> None:
                await reporter.start(data_type)
                await reporter.record_and_report(data_type, errors)

            async def resolve(data_type: str, external_ids: list[str]) -> None:
                await client.patch_sync_log(connection.platform, data_type,
                                            PartialSyncLog(resolved_external_ids=external_ids))

            return await set_up_site(client, services.app_db.url, connection_id, price_list=price_list,
                                     locations=locations, report=report, resolve=resolve, dry_run=dry_run)

    setup = asyncio.run(main())
    if setup.failure_reason:
        context.log.warning("%s; it is in the sync log, and the sync goes on", setup.failure_reason)
    frame = pd.DataFrame({"written": setup.written})
    metadata = {"dry_run": dry_run, "base_currency": currency, "price_list": price_list.slug,
                "stock_locations": ", ".join(setup.stock_locations), "written": len(setup.written)}
    if setup.failure_reason:
        metadata["refused"] = setup.failure_reason
    return dg.Output(frame, metadata=metadata)


def setup_log_kind(context: dg.AssetExecutionContext) -> str:
    """A run that also loads products reports a setup problem in its full sync's products log (opened here,
    before any load starts it); any other run adds it to the log as a partial sync does."""
    selection = context.run.asset_selection  # empty (or None) when the run is the whole job
    return "full" if not selection or dg.AssetKey("sparklayer_products") in selection else "partial"


def close_sync_log(context: dg.AssetExecutionContext, services: SyncServices, *, dry_run: bool) -> dg.Output[pd.DataFrame]:
    """Every load of this sync ran (Dagster runs this only after all of them succeeded): tell
    SparkLayer the full sync is complete, once per data type."""
    connection_id = context.partition_key
    sync_id = sync_id_of(context)
    if not dry_run:
        reopen_if_reexecuted(context, services)
    with services.app_db.connect() as conn:
        open_types = [r["data_type"] for r in sync_log.started_in(conn, connection_id, sync_id)]
    if dry_run or not open_types:
        return dg.Output(pd.DataFrame({"data_type": open_types, "closed": False}), metadata={"closed": 0})
    connection = services.app_db.connection(connection_id)

    async def main() -> list[bool]:
        async with services.sparklayer(connection) as client:
            reporter = SyncLogReporter(client, services.app_db.url, connection_id, sync_id,
                                       integration=connection.platform)
            return [await reporter.finish(data_type) for data_type in open_types]

    closed = asyncio.run(main())
    frame = pd.DataFrame({"data_type": open_types, "closed": closed})
    return dg.Output(frame, metadata={"closed": sum(closed), "data_types": ", ".join(open_types)})
