"""Run the full sync of one connection on the configured Dagster instance (`ignite-etl sync`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import dagster as dg

from ignite_etl.defs.partitions import CONNECTION_TAG, PARTITION_TAG

# What `--entity` selects: the loads to run; their upstream extracts and diffs come along.
ENTITY_LOADS = {
    "products": ["sparklayer_products"],
    "stock": ["sparklayer_stock"],
    "prices": ["sparklayer_prices", "sparklayer_settings"],
    "customers": ["sparklayer_customers"],
    "settings": ["sparklayer_settings"],
}
CATALOGUE_OUTPUTS = ["platform_products", "platform_variants", "platform_stock", "platform_prices", "platform_problems"]
LOAD_OPS = ["sparklayer_products", "sparklayer_stock", "sparklayer_prices", "sparklayer_customers",
            "sparklayer_settings", "sparklayer_sync_log"]


@dataclass
class SyncSummary:
    success: bool
    run_id: str
    assets: dict[str, dict]  # asset -> the numbers its materialization recorded


def _definitions() -> dg.Definitions:
    from ignite_etl.definitions import defs  # the code location imports this module

    return defs()


def full_sync_job() -> dg.JobDefinition:
    """The full_sync job as the code location defines it (resources bound), for `dg.reconstructable`."""
    return _definitions().resolve_job_def("full_sync")


def selection_for(entities: Sequence[str]) -> list[dg.AssetKey] | None:
    """The assets `--entity` runs: the chosen loads, everything upstream of them and the sync log;
    None (the whole job) without entities."""
    if not entities:
        return None
    unknown = sorted(set(entities) - set(ENTITY_LOADS))
    if unknown:
        raise ValueError(f"unknown entity {', '.join(unknown)}: choose from {', '.join(ENTITY_LOADS)}")
    loads = {load for entity in entities for load in ENTITY_LOADS[entity]}
    chosen = dg.AssetSelection.assets(*loads).upstream() | dg.AssetSelection.assets("sparklayer_sync_log")
    names = {key.to_user_string() for key in chosen.resolve(_definitions().resolve_asset_graph())}
    if names & set(CATALOGUE_OUTPUTS):
        names |= set(CATALOGUE_OUTPUTS)  # one extraction pass feeds all five
    return [dg.AssetKey(name) for name in sorted(names)]


def run_full_sync(
    connection_id: str, *, entities: Sequence[str] = (), dry_run: bool = False, instance: dg.DagsterInstance
) -> SyncSummary:
    """Run it now in this process, on `instance` (which must be persistent, as DAGSTER_HOME's is)."""
    selection = selection_for(entities)
    if connection_id not in instance.get_dynamic_partitions("connections"):
        instance.add_dynamic_partitions("connections", [connection_id])
    ops = [op for op in LOAD_OPS if selection is None or dg.AssetKey(op) in selection]
    # execute_job, as a launched run's worker does: execute_in_process would keep every step's output
    # (the whole catalogue, every diff) in memory until the run ends.
    result = dg.execute_job(
        dg.reconstructable(full_sync_job),
        instance=instance,
        asset_selection=selection,
        run_config={"ops": {op: {"config": {"dry_run": dry_run}} for op in ops}},
        tags={PARTITION_TAG: connection_id, CONNECTION_TAG: connection_id},
        raise_on_error=False,
    )
    assets = {}
    for event in result.get_asset_materialization_events():
        materialization = event.materialization
        assets[materialization.asset_key.to_user_string()] = {
            k: v.value for k, v in materialization.metadata.items() if isinstance(v.value, (int, float, bool, str))
            and k not in ("preview", "errors")
        }
    return SyncSummary(result.success, result.run_id, assets)


def partial_sync_job() -> dg.JobDefinition:
    """The partial_sync job as the code location defines it, for `dg.reconstructable`."""
    return _definitions().resolve_job_def("partial_sync")


def run_partial_sync(connection_id: str, *, instance: dg.DagsterInstance) -> SyncSummary:
    """Work off the connection's queued changes now, in this process, as a launched run's worker does."""
    result = dg.execute_job(
        dg.reconstructable(partial_sync_job), instance=instance,
        tags={PARTITION_TAG: connection_id, CONNECTION_TAG: connection_id}, raise_on_error=False,
    )
    return SyncSummary(result.success, result.run_id, {})


def remove_connection_job() -> dg.JobDefinition:
    """The remove_connection job as the code location defines it, for `dg.reconstructable`."""
    return _definitions().resolve_job_def("remove_connection")


def run_removal(run_config: dict, tags: dict[str, str], *, instance: dg.DagsterInstance) -> SyncSummary:
    """Run a removal the lifecycle sensor asked for (its run config and tags, run key included) now, in this
    process, as a launched run's worker does."""
    result = dg.execute_job(dg.reconstructable(remove_connection_job), instance=instance, run_config=run_config,
                            tags=tags, raise_on_error=False)
    return SyncSummary(result.success, result.run_id, {})
