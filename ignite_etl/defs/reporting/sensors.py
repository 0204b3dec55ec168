"""Keeps the reporting assets current: a refresh after sync runs finish, and every quarter hour.

Declarative automation cannot do this here: partial syncs are an op job that materialises no
asset, and an `eager` condition on an unpartitioned asset over the connection partitions waits
while any connection is syncing. So one sensor asks for at most one refresh per tick.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import dagster as dg

from ignite_etl.defs.reporting.jobs import refresh_reporting
from ignite_etl.defs.sync.loading import SYNC_KIND_TAG

SYNC_KINDS = ["full", "reconcile", "partial"]
PERIOD = timedelta(minutes=15)
_FINISHED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]
_IN_FLIGHT = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
              dg.DagsterRunStatus.STARTED]


@dataclass(frozen=True)
class RefreshCursor:
    seen_until: float = 0.0  # update time of the last finished sync run seen
    refreshed_at: float = 0.0  # when a refresh was last requested

    @classmethod
    def parse(cls, cursor: str | None) -> "RefreshCursor":
        return cls(**json.loads(cursor)) if cursor else cls()

    def dump(self) -> str:
        return json.dumps({"seen_until": self.seen_until, "refreshed_at": self.refreshed_at})


def refresh_decision(
    instance: dg.DagsterInstance, cursor: RefreshCursor, now: datetime
) -> tuple[dg.RunRequest | None, RefreshCursor, str]:
    """A refresh when a sync run finished since the cursor or the period passed; none while one is in flight."""
    finished = instance.get_run_records(
        filters=dg.RunsFilter(
            statuses=_FINISHED, tags={SYNC_KIND_TAG: SYNC_KINDS},
            updated_after=datetime.fromtimestamp(cursor.seen_until, tz=UTC),
        ),
        limit=1000,
    )
    seen_until = max([cursor.seen_until] + [r.update_timestamp.timestamp() for r in finished])
    due = bool(finished) or now.timestamp() - cursor.refreshed_at >= PERIOD.total_seconds()
    if not due:
        return None, cursor, "nothing finished since the last refresh"
    if instance.get_run_records(filters=dg.RunsFilter(job_name=refresh_reporting.name, statuses=_IN_FLIGHT), limit=1):
        return None, cursor, "a refresh is already queued or running"
    reason = f"{len(finished)} sync run(s) finished" if finished else "periodic refresh"
    request = dg.RunRequest(run_key=f"reporting-{int(now.timestamp())}", tags={"ignite/reason": reason})
    return request, RefreshCursor(seen_until, now.timestamp()), reason


@dg.sensor(
    job=refresh_reporting,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Refreshes sync_errors and sync_health (and their checks) after sync runs finish, and every 15 minutes.",
)
def reporting_refresh(context: dg.SensorEvaluationContext):
    request, cursor, reason = refresh_decision(context.instance, RefreshCursor.parse(context.cursor),
                                               datetime.now(UTC))
    if request is None:
        return dg.SkipReason(reason)
    return dg.SensorResult(run_requests=[request], cursor=cursor.dump())
