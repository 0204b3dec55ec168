"""The IO manager that keeps asset DataFrames in the app database, one SQL table per asset.

An asset's output goes to table `<group name>.<last part of the asset key>` (e.g.
`platform.products`); its partition key, the connection id, tags its rows, and each run replaces
only its own connection's slice. Unpartitioned assets are stored under the connection id `'*'`
(`ALL_CONNECTIONS`). Analysts query the same tables with SQL.
"""

from __future__ import annotations

import dagster as dg
import pandas as pd

from ignite_etl.store.frames import FrameStore

ALL_CONNECTIONS = "*"
"""The connection id under which an unpartitioned asset's rows are stored."""

DEFAULT_GROUP = "default"


class PostgresFrameIOManager(dg.ConfigurableIOManager):
    """Stores each asset's pandas DataFrame in Postgres, one connection's slice per partition.

    Loading an input reads the upstream slice for the partition the downstream step runs for.
    An unpartitioned asset (or one that maps to several upstream partitions) gets every mapped
    connection's rows at once, with a `connection_id` column first.
    """

    url: str
    """PostgreSQL URL of the app database (IGNITE_DATABASE_URL)."""

    @property
    def store(self) -> FrameStore:
        return FrameStore(self.url)

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame) -> None:
        schema, table = _table_of(context)
        if not isinstance(obj, pd.DataFrame):
            raise TypeError(
                f"asset {context.asset_key.to_user_string()} returned {type(obj).__name__}; "
                "the Postgres frame IO manager stores pandas DataFrames (return a DataFrame, "
                "or a MaterializeResult for assets that store their own results)"
            )
        connection_id = _output_connection_id(context)
        rows = self.store.write_slice(schema, table, connection_id, obj)
        row_count_key = "dagster/partition_row_count" if context.has_asset_partitions else "dagster/row_count"
        context.add_output_metadata(
            {
                "dagster/table_name": f"{schema}.{table}",
                row_count_key: dg.MetadataValue.int(rows),
                "connection_id": connection_id,
            }
        )

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        if context.upstream_output is None:
            raise dg.DagsterInvariantViolationError(
                f"input {context.name!r} does not come from an asset; the Postgres frame IO manager only loads assets"
            )
        schema, table = _table_of(context.upstream_output)
        if not context.has_asset_partitions:
            return self.store.read_slice(schema, table, ALL_CONNECTIONS)
        keys = list(context.asset_partition_keys)
        if context.has_partition_key and len(keys) == 1:
            return self.store.read_slice(schema, table, keys[0])
        return self.store.read_slices(schema, table, keys)


def stored_table(group_name: str | None, asset_name: str) -> tuple[str, str]:
    """(schema, table) where this IO manager keeps an asset: its group, and the last part of its key.
    For steps that read a stored asset a chunk at a time instead of as an input."""
    return group_name or DEFAULT_GROUP, asset_name


def _table_of(context: dg.OutputContext) -> tuple[str, str]:
    """(schema, table) for the asset this output context describes."""
    if not context.has_asset_key:
        raise dg.DagsterInvariantViolationError(
            f"output {context.name!r} is not an asset; the Postgres frame IO manager stores asset outputs only"
        )
    return stored_table(context.asset_spec.group_name, context.asset_key.path[-1])


def _output_connection_id(context: dg.OutputContext) -> str:
    if not context.has_asset_partitions:
        return ALL_CONNECTIONS
    keys = context.asset_partition_keys
    if len(keys) != 1:
        raise dg.DagsterInvariantViolationError(
            f"asset {context.asset_key.to_user_string()} is being materialized for {len(keys)} connections "
            "in one run; the Postgres frame IO manager stores one connection's slice per run. "
            "Launch one run per partition."
        )
    return keys[0]


@dg.definitions
def io_managers() -> dg.Definitions:
    return dg.Definitions(
        resources={"io_manager": PostgresFrameIOManager(url=dg.EnvVar("IGNITE_DATABASE_URL"))},
    )
