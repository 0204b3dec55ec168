"""`orders_pass_schedule`: every connected store's changed orders, every IGNITE_ORDERS_PASS_MINUTES (15)."""

import os

import dagster as dg

from ignite_etl.defs.partial.jobs import SYNC_KIND_TAG, orders_pass
from ignite_etl.defs.partitions import CONNECTION_TAG
from ignite_etl.defs.resources import AppDatabase

ORDERS_PASS_MINUTES = int(os.environ.get("IGNITE_ORDERS_PASS_MINUTES") or 15)


@dg.schedule(
    job=orders_pass,
    cron_schedule=f"*/{ORDERS_PASS_MINUTES} * * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Sends orders whose invoices changed since the last pass, for every connected store.",
)
def orders_pass_schedule(context: dg.ScheduleEvaluationContext, app_db: AppDatabase):
    with app_db.connect() as conn:
        connected = [r["id"] for r in conn.execute("select id from connection where status = 'connected' order by id")]
    tick = context.scheduled_execution_time.isoformat() if context.scheduled_execution_time else "now"
    return [
        dg.RunRequest(run_key=f"orders:{cid}:{tick}", partition_key=cid,
                      tags={CONNECTION_TAG: cid, SYNC_KIND_TAG: "orders"})
        for cid in connected
    ]
