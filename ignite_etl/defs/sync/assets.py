"""The full sync of one connection as assets: platform extracts -> diffs -> SparkLayer loads.

Every asset is partitioned by connection. The diff compares with what SparkLayer last accepted
(Postgres), the loads write only the changes and advance that state record by record, and the
sync log tells the merchant what happened.
"""


import time

import dagster as dg
import pandas as pd

from ignite_etl import diff
from ignite_etl.defs.io_managers import stored_table
from ignite_etl.defs.partitions import connections_partitions
from ignite_etl.defs.resources import SyncServices
from ignite_etl.defs.sync import loading
from ignite_etl.store import sync_state
from ignite_etl.store.frames import FrameStore
from ignite_etl.sync import payloads
from ignite_etl.sync.extract import CatalogueFrames, customers_frame

PLATFORM = "platform"
DIFF = "diff"
SPARKLAYER = "sparklayer"
SPARKLAYER_POOL = "sparklayer"
VARIANTS_TABLE = stored_table(PLATFORM, "platform_variants")  # read in chunks and by SQL, not as an input

_EXTRACT_KINDS = {"marketplacer", "pandas"}
_RETRY = dg.RetryPolicy(max_retries=3, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)


@dg.multi_asset(
    outs={
        "platform_products": dg.AssetOut(
            group_name=PLATFORM, kinds=_EXTRACT_KINDS, description="Every product (advert) in the store, deleted and offline ones included."
        ),
        "platform_variants": dg.AssetOut(
            group_name=PLATFORM, kinds=_EXTRACT_KINDS, description="Every variant of those products, with SKU, options, weight and status."
        ),
        "platform_stock": dg.AssetOut(group_name=PLATFORM, kinds=_EXTRACT_KINDS, description="Stock on hand per SKU and location."),
        "platform_prices": dg.AssetOut(group_name=PLATFORM, kinds=_EXTRACT_KINDS, description="The store's own price of each SKU."),
        "platform_problems": dg.AssetOut(
            group_name=PLATFORM, kinds=_EXTRACT_KINDS,
            description="Records the store holds that cannot be sent as they are (e.g. a variant without a SKU), "
            "with what the merchant should fix.",
        ),
    },
    partitions_def=connections_partitions,
    retry_policy=_RETRY,
)
def platform_catalogue(context: dg.AssetExecutionContext, sync_services: SyncServices):
    """One pass over the store's catalogue, page by page, feeding five extracts."""
    connection = sync_services.app_db.connection(context.partition_key)
    started = time.monotonic()
    frames = CatalogueFrames()
    with sync_services.platform(connection) as platform:
        for page in platform.iter_catalogue():
            frames.add(page)
    seconds = round(time.monotonic() - started, 2)
    context.log.info("extracted %d products in %d pages in %ss", len(frames.products), frames.pages, seconds)
    for name in ("products", "variants", "stock", "prices", "problems"):
        frame = frames.frame(name)
        yield dg.Output(
            frame,
            output_name=f"platform_{name}",
            metadata={"rows_extracted": len(frame), "pages": frames.pages, "duration_s": seconds,
                      "preview": loading.preview(frame)},
        )


@dg.asset(
    group_name=PLATFORM,
    partitions_def=connections_partitions,
    retry_policy=_RETRY,
    kinds={"marketplacer", "pandas"},
    description="The store's B2B customers: the buyers of SparkLayer orders, one row per customer.",
)
def platform_customers(context: dg.AssetExecutionContext, sync_services: SyncServices) -> dg.Output[pd.DataFrame]:
    connection = sync_services.app_db.connection(context.partition_key)
    with sync_services.platform(connection) as platform:
        frame = customers_frame(platform.iter_customers())
    return dg.Output(frame, metadata={"rows_extracted": len(frame), "preview": loading.preview(frame)})


@dg.asset(
    group_name=DIFF,
    partitions_def=connections_partitions,
    kinds={"pandas"},
    deps=["platform_variants"],  # read a chunk at a time below: the largest extract, never held whole
    description="What SparkLayer must be told about products and variants: creates, updates and "
    "discontinues against what it last accepted, plus the records that cannot be sent.",
)
def product_changes(
    context: dg.AssetExecutionContext,
    sync_services: SyncServices,
    platform_products: pd.DataFrame,
    platform_problems: pd.DataFrame,
) -> dg.Output[pd.DataFrame]:
    with sync_services.app_db.connect() as conn:
        state = sync_state.load_state(conn, context.partition_key, ["product", "variant"])
    variant_chunks = FrameStore(sync_services.app_db.url).iter_slice(*VARIANTS_TABLE, context.partition_key)
    desired = payloads.iter_desired_products(platform_products, variant_chunks)
    changes = diff.diff_products(desired, state, complete=True)
    problems = payloads.problem_errors(platform_problems).get("products", [])
    drift = loading.drift(context, sync_services, changes, variants_table=VARIANTS_TABLE)
    return loading.changes_output(changes, problems, drift)


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
    with sync_services.app_db.connect() as conn:
        state = sync_state.load_state(conn, context.partition_key, ["stock"])
    changes = diff.diff_records("stock", payloads.stock_bodies(platform_stock), state, complete=True, write_action="set",
                                vanished=payloads.zero_stock_body)
    drift = loading.drift(context, sync_services, changes, variants_table=VARIANTS_TABLE)
    return loading.changes_output(changes, payloads.problem_errors(platform_problems).get("stock", []), drift)


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
    connection = sync_services.app_db.connection(context.partition_key)
    with sync_services.app_db.connect() as conn:
        state = sync_state.load_state(conn, context.partition_key, ["price"])
    slug = payloads.price_list_slug(connection.platform)
    changes = diff.diff_records("price", payloads.pricing_bodies(platform_prices, slug), state, complete=True,
                                write_action="set")
    drift = loading.drift(context, sync_services, changes, variants_table=VARIANTS_TABLE)
    return loading.changes_output(changes, [], drift)


@dg.asset(
    group_name=DIFF,
    partitions_def=connections_partitions,
    kinds={"pandas"},
    description="Customers to create or replace in SparkLayer (always whole), customers that left the "
    "store, and customers that cannot be sent as they are.",
)
def customer_changes(
    context: dg.AssetExecutionContext, sync_services: SyncServices, platform_customers: pd.DataFrame
) -> dg.Output[pd.DataFrame]:
    with sync_services.app_db.connect() as conn:
        state = sync_state.load_state(conn, context.partition_key, ["customer"])
    bodies, problems = payloads.customer_bodies(platform_customers)
    changes = diff.diff_records("customer", bodies, state, complete=True, write_action="upsert", delete_vanished=True)
    return loading.changes_output(changes, problems, loading.drift(context, sync_services, changes))


class LoadConfig(dg.Config):
    dry_run: bool = False
    """Compute and show what would be written, and write nothing."""


def _load_asset(name: str, changes_asset: str, data_type: str, description: str, **kwargs):
    """The four change loads share one shape: read the diff, write it, report the outcome."""

    @dg.asset(
        name=name,
        group_name=SPARKLAYER,
        partitions_def=connections_partitions,
        pool=SPARKLAYER_POOL,
        retry_policy=_RETRY,
        kinds={"sparklayer"},
        description=description,
        # Not an input: the load reads the stored diff a chunk at a time instead of as one DataFrame.
        deps=[changes_asset, *kwargs.pop("deps", [])],
        **kwargs,
    )
    def load(context: dg.AssetExecutionContext, config: LoadConfig, sync_services: SyncServices):
        return loading.load_changes(context, sync_services, stored_table(DIFF, changes_asset), data_type=data_type,
                                    dry_run=config.dry_run)

    return load


@dg.asset(
    group_name=SPARKLAYER,
    partitions_def=connections_partitions,
    pool=SPARKLAYER_POOL,
    retry_policy=_RETRY,
    kinds={"sparklayer"},
    description="The site set up for the store, before any data is written: its own price list "
    "(\"Marketplacer Price\") and stock location created when missing, and its base currency. A refused "
    "base currency is a sync-log error; the sync goes on.",
)
def sparklayer_settings(
    context: dg.AssetExecutionContext, config: LoadConfig, sync_services: SyncServices
) -> dg.Output[pd.DataFrame]:
    return loading.load_settings(context, sync_services, dry_run=config.dry_run,
                                 log_kind=loading.setup_log_kind(context))


sparklayer_products = _load_asset(
    "sparklayer_products", "product_changes", "products",
    "Products and variants written to SparkLayer by this sync: one row per write with its outcome.",
    deps=[sparklayer_settings],
)
sparklayer_stock = _load_asset(
    "sparklayer_stock", "stock_changes", "stock", "Stock levels written to SparkLayer in batches, with each SKU's outcome.",
    deps=[sparklayer_settings],
)
sparklayer_customers = _load_asset(
    "sparklayer_customers", "customer_changes", "customers", "Customers created, replaced or removed in SparkLayer, with outcomes.",
    deps=[sparklayer_settings],
)
sparklayer_prices = _load_asset(
    "sparklayer_prices", "price_changes", "products",
    "Prices written to the store's price list in SparkLayer, in batches, with each SKU's outcome.",
    deps=[sparklayer_settings],
)


@dg.asset(
    group_name=SPARKLAYER,
    partitions_def=connections_partitions,
    pool=SPARKLAYER_POOL,
    kinds={"sparklayer"},
    deps=[sparklayer_products, sparklayer_stock, sparklayer_prices, sparklayer_customers, sparklayer_settings],
    description="Closes the sync in SparkLayer's sync log (last_full_sync) once every item was attempted.",
)
def sparklayer_sync_log(
    context: dg.AssetExecutionContext, config: LoadConfig, sync_services: SyncServices
) -> dg.Output[pd.DataFrame]:
    return loading.close_sync_log(context, sync_services, dry_run=config.dry_run)
