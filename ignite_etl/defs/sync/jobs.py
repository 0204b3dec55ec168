"""The full sync of one connection: every platform, diff and SparkLayer asset of its partition."""

import dagster as dg

FULL_SYNC_GROUPS = ("platform", "diff", "sparklayer")

full_sync = dg.define_asset_job(
    name="full_sync",
    selection=dg.AssetSelection.groups(*FULL_SYNC_GROUPS),
    executor_def=dg.in_process_executor,
    tags={"ignite/sync_kind": "full"},
    description="Extract the store, diff against what SparkLayer last accepted, write only the changes, "
    "and report the sync to SparkLayer's sync log. One connection per run.",
)
