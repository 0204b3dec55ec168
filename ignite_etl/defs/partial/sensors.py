"""The change-queue sensor: one partial_sync run per connection with due queued changes."""

import dagster as dg

from ignite_etl.defs.partial.jobs import PARTIAL, SYNC_KIND_TAG, partial_sync
from ignite_etl.defs.partitions import CONNECTION_TAG
from ignite_etl.defs.resources import AppDatabase
from ignite_etl.settings import Settings
from ignite_etl.store import change_queue

MAX_RUNS_PER_TICK = 20
_IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def busy_connections(instance: dg.DagsterInstance) -> set[str]:
    """Connections with a partial sync queued or running: it picks up rows that arrive meanwhile."""
    runs = instance.get_runs(
        filters=dg.RunsFilter(job_name=partial_sync.name, statuses=_IN_FLIGHT, tags={SYNC_KIND_TAG: PARTIAL})
    )
    return {run.tags[CONNECTION_TAG] for run in runs if CONNECTION_TAG in run.tags}


def partial_sync_requests(
    pending: list[change_queue.PendingConnection], busy: set[str], cap: int = MAX_RUNS_PER_TICK
) -> list[dg.RunRequest]:
    """Oldest work first, at most `cap` runs; the run key is unique per batch of rows."""
    return [
        dg.RunRequest(
            run_key=p.run_key,
            partition_key=p.connection_id,
            tags={CONNECTION_TAG: p.connection_id, SYNC_KIND_TAG: PARTIAL},
        )
        for p in pending
        if p.connection_id not in busy
    ][:cap]


def change_queue_sensor_for(interval_seconds: int) -> dg.SensorDefinition:
    """The sensor, evaluated every `interval_seconds` (IGNITE_SENSOR_INTERVAL_SECONDS)."""

    @dg.sensor(
        name="change_queue_sensor",
        job=partial_sync,
        minimum_interval_seconds=interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Groups due change-queue rows per connection into one partial_sync run each.",
    )
    def change_queue_sensor(context: dg.SensorEvaluationContext, app_db: AppDatabase):
        with app_db.connect() as conn:
            pending = change_queue.pending_connections(conn)
        requests = partial_sync_requests(pending, busy_connections(context.instance))
        seen = max([int(context.cursor or 0)] + [p.highest_id for p in pending])
        return dg.SensorResult(run_requests=requests, cursor=str(seen))

    return change_queue_sensor


@dg.definitions
def change_queue_sensors() -> dg.Definitions:
    return dg.Definitions(sensors=[change_queue_sensor_for(Settings.from_env().sensor_interval_seconds)])
