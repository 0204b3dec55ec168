"""One partition per connection, keyed `{siteEnv}-{siteId}`; only sensors add or remove keys."""

import dagster as dg

CONNECTIONS = "connections"
connections_partitions = dg.DynamicPartitionsDefinition(name=CONNECTIONS)

CONNECTION_TAG = "ignite/connection"
MAX_RUNTIME_TAG = "dagster/max_runtime"
"""Run monitoring (deploy/dagster.yaml) fails a run still going after this many seconds: the outer bound on
what one store's slow answers can cost the other stores waiting for a run slot."""
SYNC_MAX_RUNTIME = str(6 * 3600)
"""A full sync or reconcile; the ingress treats a sync older than this as crashed (sync_running_window)."""
STEP_MAX_RUNTIME = str(30 * 60)
"""A partial sync, an orders pass, a lifecycle job or a replay."""
PARTITION_TAG = "dagster/partition"
"""Dagster's tag on every run of a partition, UI launches and backfills included."""


def connection_of(run: dg.DagsterRun) -> str | None:
    """The connection a run works for: our tag, else its partition (every partition key is a connection id)."""
    return run.tags.get(CONNECTION_TAG) or run.tags.get(PARTITION_TAG)
