"""`nightly_reconcile`: one full sync per connected store, every night, through the run queue.

Webhooks can be lost; the reconcile is the full sync that catches what they missed. It writes only
what differs from what SparkLayer last accepted, discontinues products and removes customers that
vanished from the platform, and reports drift (changes no webhook announced) on the diff and load
assets and in `sync_health`. The queue's `ignite/connection` limit keeps it to one run per store.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dagster as dg

from ignite_etl.defs.partitions import CONNECTION_TAG, connections_partitions
from ignite_etl.defs.resources import AppDatabase
from ignite_etl.defs.sync.jobs import full_sync
from ignite_etl.defs.sync.loading import SYNC_KIND_TAG
from ignite_etl.errors import ConfigurationError

DEFAULT_CRON = "0 2 * * *"
DEFAULT_TIMEZONE = "UTC"
RECONCILE = "reconcile"


@dataclass(frozen=True)
class ReconcileTiming:
    cron: str = DEFAULT_CRON
    timezone: str = DEFAULT_TIMEZONE

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> "ReconcileTiming":
        """IGNITE_RECONCILE_CRON and IGNITE_RECONCILE_TIMEZONE, checked so a typo fails at load, not at 2 am."""
        cron = (environ.get("IGNITE_RECONCILE_CRON") or DEFAULT_CRON).strip()
        timezone = (environ.get("IGNITE_RECONCILE_TIMEZONE") or DEFAULT_TIMEZONE).strip()
        if len(cron.split()) != 5:
            raise ConfigurationError(
                f"IGNITE_RECONCILE_CRON must be a cron expression of five fields, e.g. '0 2 * * *', not {cron!r}"
            )
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigurationError(
                f"IGNITE_RECONCILE_TIMEZONE must be an IANA time zone such as 'UTC' or 'Australia/Sydney', not {timezone!r}"
            ) from None
        return cls(cron, timezone)


def connected_ids(app_db: AppDatabase) -> set[str]:
    with app_db.connect() as conn:
        return {r["id"] for r in conn.execute("select id from connection where status = 'connected'")}


def reconcile_requests(partition_keys: list[str], connected: set[str], tick: str) -> list[dg.RunRequest]:
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


_timing = ReconcileTiming.from_env(os.environ)


@dg.schedule(
    name="nightly_reconcile",
    job=full_sync,
    cron_schedule=_timing.cron,
    execution_timezone=_timing.timezone,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="A diff-based full sync of every connected store (IGNITE_RECONCILE_CRON, default 02:00 "
    "IGNITE_RECONCILE_TIMEZONE, default UTC): catches what webhooks missed, discontinues vanished products, "
    "removes vanished customers, reports drift.",
)
def nightly_reconcile(context: dg.ScheduleEvaluationContext, app_db: AppDatabase):
    keys = connections_partitions.get_partition_keys(dynamic_partitions_store=context.instance)
    tick = context.scheduled_execution_time.strftime("%Y%m%dT%H%M") if context.scheduled_execution_time else "now"
    requests = reconcile_requests(keys, connected_ids(app_db), tick)
    if not requests:
        return dg.SkipReason("no connected store to reconcile")
    return requests
