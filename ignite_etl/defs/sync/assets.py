"""The full sync of one connection as assets: platform extracts -> diffs -> SparkLayer loads.

Every asset is partitioned by connection. The diff compares with what SparkLayer last accepted
(Postgres), the loads write only the changes and advance that state record by record, and the
sync log tells the merchant what happened.
"""


import dagster as dg
import pandas as pd

from ignite_etl.defs.io_managers import stored_table
from ignite_etl.defs.partitions import connections_partitions
from ignite_etl.defs.resources import SyncServices
from ignite_etl.defs.sync import loading
from ignite_etl.platforms import platform_specs
from ignite_etl.sync import full
from ignite_etl.sync.entities import load_data_type
from ignite_etl.workers import PLATFORM_STEP, SPARKLAYER_STEP

PLATFORM = "platform"
DIFF = "diff"
SPARKLAYER = "sparklayer"
SPARKLAYER_POOL = "sparklayer"
VARIANTS_TABLE = stored_table(PLATFORM, "platform_variants")  # read in chunks and by SQL, not as an input

_EXTRACT_KINDS = {spec.name for spec in platform_specs()} | {"pandas"}
_RETRY = dg.RetryPolicy(max_retries=3, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)


@dg.multi_asset(
    outs={
        f"platform_{name}": dg.AssetOut(group_name=PLATFORM, kinds=_EXTRACT_KINDS, description=description)
        for name, description in (
            ("products", "Every product in the store, deleted and offline ones included."),
            ("variants", "Every variant of those products, with SKU, options, weight, status and B2B attributes."),
            ("stock", "Stock on hand per SKU and location, with restock dates and minimum levels."),
            ("prices", "The store's own price of each SKU."),
            ("problems", "Records the store holds that cannot be sent as they are (e.g. a variant without a SKU), "
                         "with what the merchant should fix."),
        )
    },
    partitions_def=connections_partitions,
    retry_policy=_RETRY,
    op_tags=PLATFORM_STEP,
)
def platform_catalogue(context: dg.AssetExecutionContext, sync_services: SyncServices):
    """One pass over the store's catalogue, page by page, feeding five extracts."""
    frames, extracted = full.extract_catalogue(sync_services.services(), loading.sync_run(context, sync_services))
    context.log.info("extracted %d products in %d pages in %ss", extracted["products"], extracted["pages"],
                     extracted["duration_s"])
    for name, frame in frames.items():
        yield dg.Output(frame, output_name=f"platform_{name}", metadata=loading.metadata({
            "rows_extracted": len(frame), "pages": extracted["pages"], "duration_s": extracted["duration_s"],
            "preview": frame}))


@dg.asset(
    group_name=PLATFORM,
    partitions_def=connections_partitions,
    retry_policy=_RETRY,
    op_tags=PLATFORM_STEP,
    kinds=_EXTRACT_KINDS,
    description="The store's B2B customers, one row per customer.",
)
def platform_customers(context: dg.AssetExecutionContext, sync_services: SyncServices) -> dg.Output[pd.DataFrame]:
    frame = full.extract_customers(sync_services.services(), loading.sync_run(context, sync_services))
    return dg.Output(frame, metadata=loading.metadata({"rows_extracted": len(frame), "preview": frame}))


@dg.asset(
    group_name=DIFF,
    partitions_def=connections_partitions,
    kinds={"pandas"},
    deps=["platform_variants"],  # read a chunk at a time: the largest extract, never held whole
    description="What SparkLayer must be told about products and variants: creates, updates and "
    "discontinues against what it last accepted, plus the records that cannot be sent.",
)
def product_changes(
    context: dg.AssetExecutionContext,
    sync_services: SyncServices,
    platform_products: pd.DataFrame,
    platform_problems: pd.DataFrame,
) -> dg.Output[pd.DataFrame]:
    return loading.output(context, full.product_changes(
        sync_services.services(), loading.sync_run(context, sync_services), platform_products, platform_problems,
        VARIANTS_TABLE))


@dg.asset(
    group_name=DIFF,
    partitions_def=connections_partitions,
    kinds={"pandas"},
    # platform_variants: read for drift by SQL, for the changed SKUs only; sparklayer_settings: the site's stock
    # locations exist (and one created again holds nothing) before the stock is compared with them
    deps=["platform_variants", "sparklayer_settings"],
    description="Stock levels that differ from what SparkLayer last accepted; a SKU the store no longer reports "
    "(its product was deleted) drops to 0.",
)
def stock_changes(
    context: dg.AssetExecutionContext,
    sync_services: SyncServices,
    platform_stock: pd.DataFrame,
    platform_problems: pd.DataFrame,
) -> dg.Output[pd.DataFrame]:
    return loading.output(context, full.stock_changes(
        sync_services.services(), loading.sync_run(context, sync_services), platform_stock, platform_problems,
        VARIANTS_TABLE))


@dg.asset(
    group_name=DIFF,
    partitions_def=connections_partitions,
    kinds={"pandas"},
    deps=["platform_variants"],  # read for drift by SQL, for the changed SKUs only
    description="SKUs whose price on the store's price list differs from what SparkLayer last accepted.",
)
def price_changes(
    context: dg.AssetExecutionContext,
    sync_services: SyncServices,
    platform_prices: pd.DataFrame,
) -> dg.Output[pd.DataFrame]:
    return loading.output(context, full.price_changes(
        sync_services.services(), loading.sync_run(context, sync_services), platform_prices, VARIANTS_TABLE))


@dg.asset(
    group_name=DIFF,
    partitions_def=connections_partitions,
    kinds={"pandas"},
    description="Customers to create or update in SparkLayer (the fields the store owns), customers that "
    "left the store, and customers that cannot be sent as they are.",
)
def customer_changes(
    context: dg.AssetExecutionContext, sync_services: SyncServices, platform_customers: pd.DataFrame
) -> dg.Output[pd.DataFrame]:
    return loading.output(context, full.customer_changes(
        sync_services.services(), loading.sync_run(context, sync_services), platform_customers))


class LoadConfig(dg.Config):
    dry_run: bool = False
    """Compute and show what would be written, and write nothing."""


@dg.asset(
    group_name=SPARKLAYER,
    partitions_def=connections_partitions,
    pool=SPARKLAYER_POOL,
    op_tags=SPARKLAYER_STEP,
    retry_policy=_RETRY,
    kinds={"sparklayer"},
    description="The site set up for the store, before any data is written: the platform's own price list "
    "(\"<platform> Price\") and stock location created when missing, and its base currency. A refused "
    "base currency is a sync-log error; the sync goes on.",
)
def sparklayer_settings(
    context: dg.AssetExecutionContext, config: LoadConfig, sync_services: SyncServices
) -> dg.Output[pd.DataFrame]:
    return loading.output(context, full.set_up(sync_services.services(), loading.sync_run(context, sync_services),
                                               dry_run=config.dry_run, log_kind=loading.setup_log_kind(context)))


def _load_asset(name: str, changes_asset: str, description: str):
    """The four change loads share one shape: read the stored diff, write it, report the outcome (under the
    sync-log data type the entity table gives the load)."""

    @dg.asset(
        name=name,
        group_name=SPARKLAYER,
        partitions_def=connections_partitions,
        pool=SPARKLAYER_POOL,
        op_tags=SPARKLAYER_STEP,
        retry_policy=_RETRY,
        kinds={"sparklayer"},
        description=description,
        # Not an input: the load reads the stored diff a chunk at a time instead of as one DataFrame; the
        # site is set up (price list, stock location) before anything is written.
        deps=[changes_asset, sparklayer_settings],
    )
    def load(context: dg.AssetExecutionContext, config: LoadConfig, sync_services: SyncServices):
        return loading.output(context, full.load_changes(
            sync_services.services(), loading.sync_run(context, sync_services), stored_table(DIFF, changes_asset),
            data_type=load_data_type(name), load_name=name, dry_run=config.dry_run))

    return load


sparklayer_products = _load_asset(
    "sparklayer_products", "product_changes",
    "Products and variants written to SparkLayer by this sync: one row per write with its outcome.",
)
sparklayer_stock = _load_asset(
    "sparklayer_stock", "stock_changes", "Stock levels written to SparkLayer in batches, with each SKU's outcome.",
)
sparklayer_customers = _load_asset(
    "sparklayer_customers", "customer_changes", "Customers created, updated or removed in SparkLayer, with outcomes.",
)
sparklayer_prices = _load_asset(
    "sparklayer_prices", "price_changes",
    "Prices written to the store's price list in SparkLayer, in batches, with each SKU's outcome.",
)


@dg.asset(
    group_name=SPARKLAYER,
    partitions_def=connections_partitions,
    pool=SPARKLAYER_POOL,
    op_tags=SPARKLAYER_STEP,
    kinds={"sparklayer"},
    deps=[sparklayer_products, sparklayer_stock, sparklayer_prices, sparklayer_customers, sparklayer_settings],
    description="Closes the sync in SparkLayer's sync log (last_full_sync) once every item was attempted.",
)
def sparklayer_sync_log(
    context: dg.AssetExecutionContext, config: LoadConfig, sync_services: SyncServices
) -> dg.Output[pd.DataFrame]:
    return loading.output(context, full.close_sync_log(sync_services.services(), loading.sync_run(context, sync_services),
                                                       dry_run=config.dry_run))
