"""`remove_connection`: after SparkLayer removed the connection, delete its sync logs in SparkLayer and
every local row of it. The lifecycle sensor cancels the connection's runs first and deletes its
partition after; this run waits until the cancelled runs have stopped, so none writes after it."""

import asyncio
import time

import dagster as dg

from ignite_etl.defs.lifecycle.resources import LifecycleSettings
from ignite_etl.defs.partitions import CONNECTION_TAG, MAX_RUNTIME_TAG, STEP_MAX_RUNTIME
from ignite_etl.defs.resources import SyncServices
from ignite_etl.store.connections import ConnectionNotFound
from ignite_etl.store.frames import FrameStore
from ignite_etl.store.removal import delete_connection_rows

REMOVAL_TAG = "ignite/removal"
FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}
_RETRY = dg.RetryPolicy(max_retries=5, delay=15, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)


class RemovalConfig(dg.Config):
    connection_id: str
    request_id: int
    """The inbox row that asked for the removal: it and later rows are kept for the sensor."""


def unfinished_runs(instance: dg.DagsterInstance, connection_id: str) -> list[dg.DagsterRun]:
    """Runs of the connection that are queued, starting, running or being cancelled."""
    runs = instance.get_runs(filters=dg.RunsFilter(tags={CONNECTION_TAG: connection_id}))
    return [run for run in runs if run.status not in FINISHED]


@dg.op(out=dg.Out(dg.Nothing), retry_policy=_RETRY)
def delete_connection_data(
    context: dg.OpExecutionContext, config: RemovalConfig, sync_services: SyncServices,
    lifecycle_settings: LifecycleSettings,
) -> None:
    connection_id = config.connection_id
    deadline = time.monotonic() + lifecycle_settings.removal_wait_seconds
    while running := unfinished_runs(context.instance, connection_id):
        if time.monotonic() > deadline:
            raise dg.RetryRequested(max_retries=20, seconds_to_wait=30) from RuntimeError(
                f"{len(running)} run(s) of {connection_id} have not stopped yet"
            )
        time.sleep(1)

    app_db = sync_services.app_db
    try:
        connection = app_db.connection(connection_id)
    except ConnectionNotFound:
        connection = None  # a retry after the local rows went: SparkLayer's logs were deleted before them
    if connection is not None:
        async def delete_sync_logs() -> None:
            async with sync_services.sparklayer(connection) as client:
                await client.delete_sync_logs()

        asyncio.run(delete_sync_logs())
        context.log.info("deleted the sync logs of %s in SparkLayer", connection_id)

    frame_rows = FrameStore(app_db.url).delete_connection(connection_id)
    with app_db.connect() as conn, conn.transaction():
        deleted = delete_connection_rows(conn, connection_id, inbox_before=config.request_id)
    context.log.info("deleted %d asset rows and %s of %s", frame_rows, deleted or "no other rows", connection_id)


@dg.job(
    tags={"ignite/lifecycle": "remove", MAX_RUNTIME_TAG: STEP_MAX_RUNTIME},
    description="Remove a connection: delete its sync logs in SparkLayer and every local row of it.",
)
def remove_connection():
    delete_connection_data()
