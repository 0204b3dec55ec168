"""`orders_pass_schedule`: every connected store's changed orders, every IGNITE_ORDERS_PASS_MINUTES (15)."""

import dagster as dg

from ignite_etl.defs.partial.jobs import SYNC_KIND_TAG, orders_pass
from ignite_etl.defs.partitions import CONNECTION_TAG
from ignite_etl.defs.resources import AppDatabase
from ignite_etl.settings import Settings
from ignite_etl.store.connections import connected_ids


def orders_pass_schedule_for(minutes: int) -> dg.ScheduleDefinition:
    @dg.schedule(
        name="orders_pass_schedule",
        job=orders_pass,
        cron_schedule=f"*/{minutes} * * * *",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Sends orders whose invoices changed since the last pass, for every connected store.",
    )
    def orders_pass_schedule(context: dg.ScheduleEvaluationContext, app_db: AppDatabase):
        with app_db.connect() as conn:
            connected = connected_ids(conn)
        tick = context.scheduled_execution_time.isoformat() if context.scheduled_execution_time else "now"
        return [
            dg.RunRequest(run_key=f"orders:{cid}:{tick}", partition_key=cid,
                          tags={CONNECTION_TAG: cid, SYNC_KIND_TAG: "orders"})
            for cid in connected
        ]

    return orders_pass_schedule


@dg.definitions
def orders_pass_schedules() -> dg.Definitions:
    return dg.Definitions(schedules=[orders_pass_schedule_for(Settings.from_env().orders_pass_minutes)])
