"""One partition per connection, keyed `{siteEnv}-{siteId}`; only sensors add or remove keys."""

import dagster as dg

CONNECTIONS = "connections"
connections_partitions = dg.DynamicPartitionsDefinition(name=CONNECTIONS)

CONNECTION_TAG = "ignite/connection"
PARTITION_TAG = "dagster/partition"
"""Dagster's tag on every run of a partition, UI launches and backfills included."""


def connection_of(run: dg.DagsterRun) -> str | None:
    """The connection a run works for: our tag, else its partition (every partition key is a connection id)."""
    return run.tags.get(CONNECTION_TAG) or run.tags.get(PARTITION_TAG)
