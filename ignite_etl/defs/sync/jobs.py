"""The full sync of one connection: every platform, diff and SparkLayer asset of its partition."""

import dagster as dg

from ignite_etl.defs.partitions import MAX_RUNTIME_TAG, SYNC_MAX_RUNTIME

FULL_SYNC_GROUPS = ("platform", "diff", "sparklayer")

full_sync = dg.define_asset_job(
    name="full_sync",
    selection=dg.AssetSelection.groups(*FULL_SYNC_GROUPS),
    tags={"ignite/sync_kind": "full", MAX_RUNTIME_TAG: SYNC_MAX_RUNTIME},
    description="Extract the store, diff against what SparkLayer last accepted, write only the changes, "
    "and report the sync to SparkLayer's sync log. One connection per run.",
)


CATALOGUE_EXTRACTS = ("platform_products", "platform_variants", "platform_stock", "platform_prices",
                      "platform_problems")

# What SparkLayer's trigger call (`POST …/status/{syncDataType}`) runs of the full sync: each load with
# everything it reads and the step that closes its sync log. `purchases` runs the orders pass instead,
# and `customer_groups` has nothing to run (no platform keeps customer groups we sync).
TRIGGERED_ASSETS = {
    "products": (*CATALOGUE_EXTRACTS, "product_changes", "stock_changes", "price_changes", "sparklayer_settings",
                 "sparklayer_products", "sparklayer_stock", "sparklayer_prices", "sparklayer_sync_log"),
    "customers": ("platform_customers", "customer_changes", "sparklayer_customers", "sparklayer_sync_log"),
    "merchant": ("sparklayer_settings",),
}
