"""`nightly_reconcile`: one full sync per connected store, every night, through the run queue.

Webhooks can be lost; the reconcile is the full sync that catches what they missed. It writes only
what differs from what SparkLayer last accepted, discontinues products and removes customers that
vanished from the platform, and reports drift (changes no webhook announced) on the diff and load
assets and in `sync_health`. The queue's `ignite/connection` limit keeps it to one run per store.
"""

from collections.abc import Sequence

import dagster as dg

from ignite_etl.defs.partitions import CONNECTION_TAG, connections_partitions
from ignite_etl.defs.resources import AppDatabase
from ignite_etl.defs.sync.jobs import full_sync
from ignite_etl.defs.sync.loading import SYNC_KIND_TAG
from ignite_etl.settings import Settings
from ignite_etl.store.connections import connected_ids

RECONCILE = "reconcile"


def reconcile_requests(partition_keys: Sequence[str], connected: set[str], tick: str) -> list[dg.RunRequest]:
    """One full sync per connected partition; the run key makes a retried tick launch nothing twice."""
    return [
        dg.RunRequest(
            run_key=f"{RECONCILE}:{key}:{tick}",
            partition_key=key,
            tags={CONNECTION_TAG: key, SYNC_KIND_TAG: RECONCILE},
        )
        for key in partition_keys
        if key in connected
    ]


def nightly_reconcile_for(cron: str, timezone: str) -> dg.ScheduleDefinition:
    """The schedule at IGNITE_RECONCILE_CRON in IGNITE_RECONCILE_TIMEZONE (both checked by Settings)."""

    @dg.schedule(
        name="nightly_reconcile",
        job=full_sync,
        cron_schedule=cron,
        execution_timezone=timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="A diff-based full sync of every connected store (IGNITE_RECONCILE_CRON, default 02:00 "
        "IGNITE_RECONCILE_TIMEZONE, default UTC): catches what webhooks missed, discontinues vanished products, "
        "removes vanished customers, reports drift.",
    )
    def nightly_reconcile(context: dg.ScheduleEvaluationContext, app_db: AppDatabase):
        keys = connections_partitions.get_partition_keys(dynamic_partitions_store=context.instance)
        tick = context.scheduled_execution_time.strftime("%Y%m%dT%H%M") if context.scheduled_execution_time else "now"
        with app_db.connect() as conn:
            requests = reconcile_requests(keys, set(connected_ids(conn)), tick)
        if not requests:
            return dg.SkipReason("no connected store to reconcile")
        return requests

    return nightly_reconcile


@dg.definitions
def reconcile_schedules() -> dg.Definitions:
    settings = Settings.from_env()
    return dg.Definitions(schedules=[nightly_reconcile_for(settings.reconcile_cron, settings.reconcile_timezone)])
