"""`connection_lifecycle`: turns the inbox of SparkLayer's calls into partitions and runs.

Each inbox row is a small state machine whose state is the set of runs that exist for it, found by
run key (`inbox-{id}…`). A tick asks for the next run a row needs and marks the row processed only
once it sees every run of it exist, so a tick that fails halfway (or a daemon that dies before
launching what a tick asked for) is redone on the next tick, and the run keys keep a run from being
launched twice:

- connect: add the partition, run `complete_connection`, then `full_sync`;
- trigger: run `full_sync`;
- remove: cancel the connection's unfinished runs, run `remove_connection`, delete the partition.
  Earlier pending rows of the connection are dropped; later ones wait until the removal is done.

A processed row is finished once its last run has ended; the ingress refuses triggers until then.
"""

from dataclasses import dataclass, field

import dagster as dg

from ignite_etl.defs import partitions
from ignite_etl.defs.lifecycle import completion, removal
from ignite_etl.defs.partial.jobs import orders_pass
from ignite_etl.defs.resources import AppDatabase
from ignite_etl.defs.sync import jobs as sync_jobs
from ignite_etl.settings import Settings
from ignite_etl.store import inbox
from ignite_etl.store.connections import connection_status
from ignite_etl.store.inbox import InboxRequest

BATCH = 100
RUN_KEY_TAG = "dagster/run_key"  # set by Dagster on runs a sensor launched with a run key
INBOX_TAG = "ignite/inbox_request"
FINISHED = removal.FINISHED


def run_key(request: InboxRequest, step: str = "") -> str:
    return f"inbox-{request.id}{'-' + step if step else ''}"


@dataclass
class InboxTick:
    """What one evaluation asks for, built row by row."""

    instance: dg.DagsterInstance
    partition_keys: set[str]
    run_requests: list[dg.RunRequest] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    not_cancelled: list[str] = field(default_factory=list)

    def run_for(self, key: str) -> dg.DagsterRun | None:
        runs = self.instance.get_runs(filters=dg.RunsFilter(tags={RUN_KEY_TAG: key}), limit=1)
        return runs[0] if runs else None

    def ensure_partition(self, connection_id: str) -> None:
        if connection_id not in self.partition_keys:
            self.partition_keys.add(connection_id)
            self.added.append(connection_id)

    def delete_partition(self, connection_id: str) -> None:
        self.partition_keys.discard(connection_id)
        self.deleted.append(connection_id)

    def request(self, request: InboxRequest, step: str, job_name: str, *, partitioned: bool = True,
                run_config: dict | None = None, assets: tuple[str, ...] | None = None) -> None:
        connection_id = request.connection_id
        tags = {INBOX_TAG: str(request.id)}
        if partitioned:
            tags[partitions.CONNECTION_TAG] = connection_id  # dagster.yaml: one run per connection at a time
        else:
            tags[removal.REMOVAL_TAG] = connection_id
        self.run_requests.append(dg.RunRequest(
            run_key=run_key(request, step), job_name=job_name, partition_key=connection_id if partitioned else None,
            run_config=run_config or {}, tags=tags,
            asset_selection=[dg.AssetKey(name) for name in assets] if assets is not None else None,
        ))

    def cancel_runs_of(self, connection_id: str) -> None:
        """Queued runs are dropped; running ones are asked to stop (the removal run waits for them)."""
        coordinator = self.instance.run_coordinator
        for run in removal.unfinished_runs(self.instance, connection_id):
            if run.status == dg.DagsterRunStatus.NOT_STARTED:
                self.instance.report_run_canceled(run, message="The connection was removed.")
                self.cancelled.append(run.run_id)
                continue
            try:
                if coordinator.cancel_run(run.run_id):
                    self.cancelled.append(run.run_id)
                else:
                    self.not_cancelled.append(run.run_id)
            except Exception:  # the launcher could not reach it; the removal run waits, then retries
                self.not_cancelled.append(run.run_id)

    def result(self) -> dg.SensorResult:
        requests: list[dg.AddDynamicPartitionsRequest | dg.DeleteDynamicPartitionsRequest] = []
        if self.deleted:
            requests.append(partitions.connections_partitions.build_delete_request(self.deleted))
        if self.added:
            requests.append(partitions.connections_partitions.build_add_request(self.added))
        return dg.SensorResult(run_requests=self.run_requests, dynamic_partitions_requests=requests)


def step_connect(tick: InboxTick, conn, request: InboxRequest) -> None:
    status = connection_status(conn, request.connection_id)
    if status != "connected":
        outcome = "waiting for the connect page" if status == "pending" else "skipped: the connection is gone"
        inbox.mark_processed(conn, request.id, outcome, finished=True)
        return
    complete = tick.run_for(run_key(request, "complete"))
    if complete is None:
        tick.ensure_partition(request.connection_id)
        tick.request(request, "complete", completion.complete_connection.name)
    elif complete.status == dg.DagsterRunStatus.SUCCESS:
        sync = tick.run_for(run_key(request, "sync"))
        if sync is None:
            tick.request(request, "sync", sync_jobs.full_sync.name)
        else:
            inbox.mark_processed(conn, request.id, f"completed; full sync {sync.run_id}")
    elif complete.status in FINISHED:
        inbox.mark_processed(conn, request.id, f"completion {complete.status.value.lower()}: run {complete.run_id}",
                             finished=True)


def step_trigger(tick: InboxTick, conn, request: InboxRequest) -> None:
    """The sync SparkLayer asked for: `products` (with stock and prices), `customers`, `merchant` (the store
    settings) as parts of the full sync, `purchases` as the orders pass; `customer_groups` has nothing to run."""
    if connection_status(conn, request.connection_id) != "connected":
        inbox.mark_processed(conn, request.id, "skipped: the connection is not connected", finished=True)
        return
    data_type = request.sync_data_type or "products"
    if data_type not in sync_jobs.TRIGGERED_ASSETS and data_type != "purchases":
        inbox.mark_processed(conn, request.id, f"nothing to sync: the platform keeps no {data_type.replace('_', ' ')}",
                             finished=True)
        return
    sync = tick.run_for(run_key(request))
    if sync is None:
        tick.ensure_partition(request.connection_id)
        if data_type == "purchases":
            tick.request(request, "", orders_pass.name)
        else:
            tick.request(request, "", sync_jobs.full_sync.name, assets=sync_jobs.TRIGGERED_ASSETS[data_type])
    else:
        inbox.mark_processed(conn, request.id, f"{data_type} sync {sync.run_id}")


def removal_retry_delay(failures: int) -> float:
    """Seconds before the next attempt after `failures` failed removal runs: 1, 2, 4 ... minutes, at most an hour."""
    return float(min(3600, 60 * 2 ** (failures - 1)))


def step_remove(tick: InboxTick, conn, request: InboxRequest) -> None:
    """A removal is retried until it succeeds (after its op's own retries, a run can still fail: SparkLayer
    down for long), each attempt a run of its own; the connection stays `removing` meanwhile."""
    step = f"retry-{request.attempts}" if request.attempts else ""
    run = tick.run_for(run_key(request, step))
    if run is None:
        if not request.due:
            return
        tick.cancel_runs_of(request.connection_id)
        tick.request(request, step, removal.remove_connection.name, partitioned=False, run_config={
            "ops": {"delete_connection_data": {"config": {
                "connection_id": request.connection_id, "request_id": request.id}}}})
    elif run.status == dg.DagsterRunStatus.SUCCESS:
        if request.connection_id in tick.partition_keys:
            tick.delete_partition(request.connection_id)
        else:
            inbox.delete(conn, request.id)  # the connection's last local row
    elif run.status in FINISHED:
        delay = removal_retry_delay(request.attempts + 1)
        inbox.schedule_retry(conn, request.id, f"removal attempt {request.attempts + 1} "
                                               f"{run.status.value.lower()} (run {run.run_id}); trying again in "
                                               f"{delay / 60:.0f} min", delay_seconds=delay)


STEPS = {inbox.CONNECT: step_connect, inbox.TRIGGER: step_trigger, inbox.REMOVE: step_remove}


def finish_step(tick: InboxTick, conn, request: InboxRequest) -> None:
    """A processed row is finished when its last run has ended."""
    run = tick.run_for(run_key(request, "sync" if request.kind == inbox.CONNECT else ""))
    if run is None or run.status in FINISHED:
        inbox.mark_finished(conn, request.id, f"{request.kind} done: run {run.run_id if run else '-'} "
                                              f"{run.status.value.lower() if run else 'not found'}")


def evaluate_inbox(instance: dg.DagsterInstance, app_db: AppDatabase) -> InboxTick:
    """One pass over the inbox; row marks commit together, only after every row was looked at."""
    tick = InboxTick(instance, set(instance.get_dynamic_partitions(partitions.CONNECTIONS)))
    with app_db.connect() as conn, conn.transaction():
        requests = inbox.pending(conn, BATCH)
        removals = {r.connection_id: r.id for r in requests if r.kind == inbox.REMOVE}
        for request in requests:
            removal_id = removals.get(request.connection_id)
            if removal_id is not None and request.id < removal_id:
                # superseded: the removal cancels whatever this row already launched
                inbox.mark_processed(conn, request.id, "superseded by the connection's removal", finished=True)
            elif removal_id is None or request.id == removal_id:
                STEPS[request.kind](tick, conn, request)
            # rows after an open removal wait for it to finish
        for request in inbox.in_flight(conn, BATCH):  # includes rows just marked processed
            finish_step(tick, conn, request)
    return tick


def connection_lifecycle_sensor(interval_seconds: int) -> dg.SensorDefinition:
    """The sensor, evaluated every `interval_seconds` (IGNITE_SENSOR_INTERVAL_SECONDS)."""

    @dg.sensor(
        name="connection_lifecycle",
        minimum_interval_seconds=interval_seconds,
        jobs=[completion.complete_connection, removal.remove_connection, sync_jobs.full_sync, orders_pass],
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Turns SparkLayer's connect, trigger and remove calls (the ingress's inbox) into "
        "partitions and runs, each call once.",
    )
    def connection_lifecycle(context: dg.SensorEvaluationContext, app_db: AppDatabase) -> dg.SensorResult:
        tick = evaluate_inbox(context.instance, app_db)
        if tick.cancelled:
            context.log.info("cancelled %d run(s) of removed connections", len(tick.cancelled))
        if tick.not_cancelled:
            context.log.warning("could not cancel run(s) %s of removed connections; their removal waits for them",
                                ", ".join(tick.not_cancelled))
        if not (tick.run_requests or tick.added or tick.deleted):
            return dg.SensorResult(skip_reason="no new connection calls")
        return tick.result()

    return connection_lifecycle


@dg.definitions
def lifecycle_sensors() -> dg.Definitions:
    return dg.Definitions(sensors=[connection_lifecycle_sensor(Settings.from_env().sensor_interval_seconds)])
