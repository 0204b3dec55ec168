"""`refresh_reporting`: materialise `sync_errors` and `sync_health` (with its checks) in one run."""

import dagster as dg

from ignite_etl.defs.partitions import MAX_RUNTIME_TAG, STEP_MAX_RUNTIME
from ignite_etl.defs.reporting.assets import REPORTING

refresh_reporting = dg.define_asset_job(
    name="refresh_reporting",
    selection=dg.AssetSelection.groups(REPORTING),
    tags={MAX_RUNTIME_TAG: STEP_MAX_RUNTIME},
    description="Re-read every open sync problem and every connection's health; the checks warn on what needs attention.",
)
