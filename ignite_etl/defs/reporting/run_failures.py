"""`sync_run_failure`: a full sync run that failed or crashed is marked failed where people look.

Dagster reports a crashed run (its worker died; run monitoring notices) as a failed run, so one
run-failure sensor covers both. For a full sync it records the run, marks the sync's open data
types failed in `sync_run` (so `sync_health` shows it), and PATCHes SparkLayer's sync log with
`last_full_sync_succeeded: false` without touching `last_full_sync`, which only a completed sync sets.
A run Dagster is about to retry is left alone: the retry continues the same sync.
"""

import asyncio

import dagster as dg

from ignite_etl.defs.partitions import connection_of
from ignite_etl.defs.resources import SyncServices
from ignite_etl.defs.sync.loading import SYNC_KIND_TAG
from ignite_etl.sparklayer.models import PartialSyncLog
from ignite_etl.store import sync_failures
from ignite_etl.store.connections import ConnectionNotFound

FULL_SYNC_KINDS = ("full", "reconcile")
WILL_RETRY_TAG = "dagster/will_retry"
LOAD_DATA_TYPES = {
    "sparklayer_products": "products",
    "sparklayer_prices": "products",
    "sparklayer_settings": "products",
    "sparklayer_stock": "stock",
    "sparklayer_customers": "customers",
}
ALL_DATA_TYPES = ("customers", "products", "stock")


def steps_of(instance: dg.DagsterInstance, run: dg.DagsterRun) -> set[str]:
    """The steps the run was to execute (asset names for single-asset steps)."""
    if run.step_keys_to_execute:
        return set(run.step_keys_to_execute)
    if run.asset_selection:
        return {key.to_user_string() for key in run.asset_selection}
    plan = instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id) if run.execution_plan_snapshot_id else None
    return {step.key for step in plan.steps} if plan else set()


def failed_sync(run: dg.DagsterRun, steps: set[str]) -> tuple[str, list[str]] | None:
    """(connection id, data types it was syncing) when `run` is a full sync of one connection."""
    connection_id = connection_of(run)
    if not connection_id:
        return None
    loads = steps & set(LOAD_DATA_TYPES)
    if run.tags.get(SYNC_KIND_TAG) not in FULL_SYNC_KINDS and not loads:
        return None
    data_types = sorted({LOAD_DATA_TYPES[name] for name in loads})
    return connection_id, data_types or list(ALL_DATA_TYPES)


def mark_sync_failed(
    services: SyncServices, instance: dg.DagsterInstance, run: dg.DagsterRun, message: str | None
) -> list[str]:
    """Mark the sync of `run` failed locally and in SparkLayer's sync log; the data types marked."""
    found = failed_sync(run, steps_of(instance, run))
    if found is None:
        return []
    connection_id, data_types = found
    try:
        connection = services.app_db.connection(connection_id)
    except ConnectionNotFound:
        return []  # removed meanwhile: nothing left to mark
    with services.app_db.connect() as conn, conn.transaction():
        marked = sync_failures.mark_failed(
            conn, run_id=run.run_id, connection_id=connection_id, sync_id=run.root_run_id or run.run_id,
            job_name=run.job_name, message=message, data_types=data_types,
        )

        async def patch() -> None:
            async with services.sparklayer(connection) as client:
                for data_type in marked:
                    await client.patch_sync_log(connection.platform, data_type,
                                                PartialSyncLog(last_full_sync_succeeded=False))

        asyncio.run(patch())  # inside the transaction: if SparkLayer is unreachable, the next tick tries again
    return marked


@dg.run_failure_sensor(
    name="sync_run_failure",
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Marks a failed or crashed full sync in sync_run, sync_health and SparkLayer's sync log "
    "(last_full_sync_succeeded: false).",
)
def sync_run_failure(context: dg.RunFailureSensorContext, sync_services: SyncServices):
    run = context.dagster_run
    if run.tags.get(WILL_RETRY_TAG) == "true":
        return dg.SkipReason(f"run {run.run_id} will be retried; its sync goes on")
    marked = mark_sync_failed(sync_services, context.instance, run, context.failure_event.message)
    if not marked:
        return dg.SkipReason(f"run {run.run_id} is not a full sync still open")
    context.log.warning("full sync of %s failed (run %s): marked %s as failed", connection_of(run), run.run_id,
                        ", ".join(marked))
    return None
