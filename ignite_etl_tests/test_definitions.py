import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from ignite_etl.defs.partitions import connections_partitions
from ignite_etl.definitions import defs

ROOT = Path(__file__).resolve().parents[1]


def test_definitions_load_with_the_connections_partitions_and_app_database():
    definitions = defs()
    assert "app_db" in definitions.resources
    assert isinstance(connections_partitions, dg.DynamicPartitionsDefinition)
    assert connections_partitions.name == "connections"
    for asset in definitions.assets or []:
        if isinstance(asset, dg.AssetsDefinition) and asset.partitions_def is not None:
            assert asset.partitions_def == connections_partitions


def test_dagster_definitions_validate_passes_with_the_postgres_instance(make_database):
    """Run from the repo root, Dagster reads the top-level dagster.yaml: this also checks it
    against a real Postgres instance database."""
    dagster_bin = Path(sys.executable).parent / "dagster"
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    env["IGNITE_DAGSTER_DATABASE_URL"] = make_database("dagster_validate")
    result = subprocess.run(
        [str(dagster_bin), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation successful" in result.stdout + result.stderr
