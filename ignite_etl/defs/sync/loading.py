"""What the SparkLayer assets do, kept out of the asset declarations: run the writer and the sync-log
reporter for one connection, and describe the outcome in metadata the data team reads in the UI."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence

import dagster as dg
import pandas as pd

from ignite_etl.defs.resources import SyncServices
from ignite_etl.diff import Accepted, Change, ChangeSet, record_hash, unannounced
from ignite_etl.sparklayer.client import SparkLayerClient
from ignite_etl.store import load_stats, sync_failures, sync_log, sync_state
from ignite_etl.store.sync_log import SyncError
from ignite_etl.sync.payloads import price_list_for, price_list_slug
from ignite_etl.sync.sync_log import SyncLogReporter
from ignite_etl.sync.writer import ChangeWriter, LoadReport, changes_frame, changes_from_frame

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
    """A diff frame: one row per write, plus one `problem` row per record that cannot be sent.

    With `drift` (the changes no webhook announced), each write row says whether it was `announced`."""
    frame = changes_frame(changes.changes)
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
        frame = pd.concat([frame, problem_rows], ignore_index=True)
    metadata = {**changes.counts(), "writes": len(changes.changes), "problems": len(problems),
                "preview": preview(frame.drop(columns=["accepts"]))}
    if drift is not None:
        metadata["unannounced"] = dg.MetadataValue.int(len(drift))
    return dg.Output(frame, metadata=metadata)


def related_ids(variants: pd.DataFrame | None) -> dict[str, list[str]]:
    """Which platform records a change belongs to: a variant's product, a SKU's variant and product."""
    related: dict[str, list[str]] = {}
    if variants is None or variants.empty:
        return related
    for row in variants[["external_id", "product_external_id", "sku"]].itertuples(index=False):
        variant_id, product_id = str(row.external_id), str(row.product_external_id)
        related[variant_id] = [product_id]
        if isinstance(row.sku, str) and row.sku:
            related[row.sku] = [variant_id, product_id]
    return related


def drift(
    context: dg.AssetExecutionContext, services: SyncServices, changes: ChangeSet, related: dict[str, list[str]]
) -> list[Change] | None:
    """The changes no webhook announced since the previous full sync; None without one to compare with."""
    with services.app_db.connect() as conn:
        announced = load_stats.announced_since_last_full_sync(conn, context.partition_key,
                                                              excluding_sync=sync_id_of(context))
    if announced is None:
        return None
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


def load_changes(
    context: dg.AssetExecutionContext, services: SyncServices, changes: pd.DataFrame, *, data_type: str, dry_run: bool
) -> dg.Output[pd.DataFrame]:
    connection_id = context.partition_key
    connection = services.app_db.connection(connection_id)
    is_problem = changes["action"] == PROBLEM if not changes.empty else pd.Series(dtype=bool)
    problems = [SyncError(**row) for row in changes.loc[is_problem, "body"]] if not changes.empty else []
    todo = changes_from_frame(changes.loc[~is_problem] if not changes.empty else changes)
    if dry_run:
        planned = changes.drop(columns=["accepts"]) if not changes.empty else changes
        context.log.info("dry run: %d write(s) and %d problem(s) not sent", len(todo), len(problems))
        return dg.Output(planned, metadata={"dry_run": True, "writes_planned": len(todo), "problems": len(problems),
                                            "preview": preview(planned)})

    reopen_if_reexecuted(context, services)
    started = time.monotonic()
    database_url = services.app_db.url

    async def run() -> tuple[LoadReport, dict]:
        async with services.sparklayer(connection) as client:
            reporter = SyncLogReporter(client, database_url, connection_id, sync_id_of(context),
                                       integration=connection.platform)
            await reporter.start(data_type)
            await reporter.record_and_report(data_type, problems)
            writer = ChangeWriter(client, database_url, connection_id, price_list_slug=price_list_slug(connection.platform),
                                  report_errors=reporter.report)
            report = await writer.write(todo)
            return report, client.stats.snapshot()

    report, stats = asyncio.run(run())
    with services.app_db.connect() as conn:
        measured = load_stats.previous_full_sync_start(conn, connection_id, excluding_sync=sync_id_of(context))
        drifted = _unannounced_writes(changes.loc[~is_problem] if not changes.empty else changes) if measured else None
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


def _unannounced_writes(writes: pd.DataFrame) -> int | None:
    """How many of these writes the diff found no webhook for."""
    if ANNOUNCED not in writes.columns or writes.empty:
        return 0
    return int((writes[ANNOUNCED] == False).sum())  # noqa: E712 - a nullable boolean column


def load_settings(context: dg.AssetExecutionContext, services: SyncServices, *, dry_run: bool) -> dg.Output[pd.DataFrame]:
    """Base currency and the platform's price list: written when missing or changed."""
    connection_id = context.partition_key
    connection = services.app_db.connection(connection_id)
    with services.platform(connection) as platform:
        currency = platform.store_settings().base_currency
    price_list = price_list_for(connection.platform, currency)
    wanted = {
        ("setting", "baseCurrency"): record_hash({"key": "baseCurrency", "value": currency}),
        ("price_list", price_list.slug): record_hash(price_list.to_body()),
    }
    with services.app_db.connect() as conn:
        state = sync_state.load_rows(conn, connection_id, wanted)
    stale = [key for key, hash_ in wanted.items() if key not in state or state[key].hash != hash_]
    rows = [{"entity": e, "external_id": k, "value": currency, "action": "write" if (e, k) in stale else "unchanged"}
            for e, k in wanted]
    if dry_run or not stale:
        return dg.Output(pd.DataFrame(rows), metadata={"dry_run": dry_run, "written": 0})

    async def run(client: SparkLayerClient) -> None:
        if ("setting", "baseCurrency") in stale:
            await client.set_base_currency(currency)
        if ("price_list", price_list.slug) in stale:
            result = await client.create_price_list(price_list)  # an existing slug counts as success
            if not result.ok:
                raise RuntimeError(f"SparkLayer refused the price list {price_list.slug}: {result.error_message}")

    async def main() -> None:
        async with services.sparklayer(connection) as client:
            await run(client)

    asyncio.run(main())
    with services.app_db.connect() as conn, conn.transaction():
        sync_state.advance(conn, connection_id, [(Accepted(e, k, wanted[(e, k)]), None) for e, k in stale])
    return dg.Output(pd.DataFrame(rows), metadata={"base_currency": currency, "price_list": price_list.slug,
                                                   "written": len(stale)})


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
