"""The glue between the Dagster assets and the plain full sync (`ignite_etl.sync.full`): the sync a run
belongs to, taken from its context, and a step's result as an output with metadata for the UI."""

from __future__ import annotations

from typing import Any

import dagster as dg
import pandas as pd

from ignite_etl.defs.resources import SyncServices
from ignite_etl.sync import full

PREVIEW_ROWS = 10
SYNC_KIND_TAG = "ignite/sync_kind"


def sync_run(context: dg.AssetExecutionContext | dg.OpExecutionContext, services: SyncServices) -> full.SyncRun:
    """The sync this step belongs to: its connection (the partition), its id (stable across retries: the root
    of the re-execution chain), its kind (from the run's tag) and whether it continues a failed sync."""
    kind = context.run.tags.get(SYNC_KIND_TAG, "full")
    return full.SyncRun(
        connection=services.app_db.connection(context.partition_key),
        sync_id=context.run.root_run_id or context.run.run_id,
        kind=kind if kind in ("full", "reconcile", "partial") else "full",
        reexecuted=bool(context.run.root_run_id),
    )


def setup_log_kind(context: dg.AssetExecutionContext) -> str:
    """A run that also loads products reports a setup problem in its full sync's products log (opened by the
    setup, before any load starts it); any other run adds it to the log as a partial sync does."""
    selection = context.run.asset_selection  # empty (or None) when the run is the whole job
    return "full" if not selection or dg.AssetKey("sparklayer_products") in selection else "partial"


def output(context: dg.AssetExecutionContext | dg.OpExecutionContext, result: full.StepResult,
           **extra: Any) -> dg.Output[pd.DataFrame]:
    """The step's frame with its metadata (frames shown as Markdown previews); its warnings logged."""
    for warning in result.warnings:
        context.log.warning(warning)
    return dg.Output(result.frame, metadata=metadata(result.metadata), **extra)


def metadata(values: dict[str, Any]) -> dict[str, Any]:
    return {key: preview(value) if isinstance(value, pd.DataFrame) else value for key, value in values.items()}


def preview(frame: pd.DataFrame | None, rows: int = PREVIEW_ROWS) -> dg.MetadataValue:
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
