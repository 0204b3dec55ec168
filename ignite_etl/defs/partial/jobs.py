"""Jobs of the partial sync: work off a connection's change queue, requeue its dead letters, and
send the orders changed since the last pass."""

from datetime import datetime

import dagster as dg

from ignite_etl.defs.partial.resources import ChangeQueuePolicy
from ignite_etl.defs.partitions import MAX_RUNTIME_TAG, STEP_MAX_RUNTIME, connections_partitions
from ignite_etl.defs.resources import AppDatabase, SyncServices
from ignite_etl.defs.sync.loading import SYNC_KIND_TAG
from ignite_etl.store.connections import ConnectionNotFound
from ignite_etl.sync.order_pass import run_order_pass
from ignite_etl.sync.partial import PartialSync, replay_dead_letters

PARTIAL = "partial"


@dg.op(out=dg.Out(dg.Nothing))
def work_off_change_queue(
    context: dg.OpExecutionContext, sync_services: SyncServices, change_queue_policy: ChangeQueuePolicy
):
    """Re-fetch what the connection's due webhooks named, write what changed, settle the rows."""
    connection_id = context.partition_key
    try:
        connection = sync_services.app_db.connection(connection_id)
    except ConnectionNotFound:
        context.log.info("connection %s was removed; its queued changes are not processed", connection_id)
        return
    outcome = PartialSync(
        db=sync_services.app_db.database,
        connection=connection,
        platform=lambda: sync_services.platform(connection),
        sparklayer=lambda: sync_services.sparklayer(connection),
        sync_id=context.run.run_id,
        policy=change_queue_policy.policy(),
        linger_seconds=change_queue_policy.linger_seconds,
    ).run()
    if outcome.failures:
        context.log.warning("%d change(s) rescheduled, %d dead-lettered: %s", outcome.rescheduled, outcome.dead,
                            outcome.failures[-1])
    context.add_output_metadata({
        "rows": outcome.rows, "done": outcome.done, "writes": outcome.writes, "refused": outcome.refused,
        "problems": outcome.problems, "resolved": outcome.resolved, "orders_written": outcome.orders_written,
        "rescheduled": outcome.rescheduled, "dead_lettered": outcome.dead,
    })


@dg.job(
    partitions_def=connections_partitions,
    tags={SYNC_KIND_TAG: PARTIAL, MAX_RUNTIME_TAG: STEP_MAX_RUNTIME},
    description="Partial sync of one connection: the entities its webhooks named, re-fetched, diffed and "
    "written if changed; failures retried with backoff, then dead-lettered.",
)
def partial_sync():
    work_off_change_queue()


class ReplayConfig(dg.Config):
    since: str = ""
    """Only dead letters received at or after this ISO 8601 time (empty: all)."""


@dg.op(out=dg.Out(dg.Nothing))
def requeue_dead_letters(context: dg.OpExecutionContext, config: ReplayConfig, app_db: AppDatabase):
    since = datetime.fromisoformat(config.since) if config.since else None
    count = replay_dead_letters(app_db.database, context.partition_key, since)
    context.log.info("%d dead letter(s) of %s requeued", count, context.partition_key)
    context.add_output_metadata({"requeued": count})


@dg.job(
    partitions_def=connections_partitions,
    tags={MAX_RUNTIME_TAG: STEP_MAX_RUNTIME},
    description="Requeue a connection's dead-lettered changes (optionally only those since a time); "
    "the change-queue sensor then syncs them again.",
)
def replay_dead_letters_job():
    requeue_dead_letters()


@dg.op(out=dg.Out(dg.Nothing))
def send_changed_orders(context: dg.OpExecutionContext, sync_services: SyncServices):
    """Orders changed since the last pass: catches invoice changes no webhook announced."""
    try:
        connection = sync_services.app_db.connection(context.partition_key)
    except ConnectionNotFound:
        context.log.info("connection %s was removed", context.partition_key)
        return
    report = run_order_pass(
        sync_services.app_db.database, connection,
        platform=lambda: sync_services.platform(connection),
        sparklayer=lambda: sync_services.sparklayer(connection),
        sync_id=context.run.run_id,
    )
    context.add_output_metadata({"orders_written": len(report.written), "unchanged": len(report.unchanged),
                                 "errors": len(report.errors)})


@dg.job(
    partitions_def=connections_partitions,
    tags={SYNC_KIND_TAG: "orders", MAX_RUNTIME_TAG: STEP_MAX_RUNTIME},
    description="Send SparkLayer orders whose invoices changed since the last pass (invoices(updatedSince)) "
    "to the Purchasing API.",
)
def orders_pass():
    send_changed_orders()

