import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import yaml

from ignite_etl.defs.partitions import MAX_RUNTIME_TAG, connections_partitions
from ignite_etl.definitions import defs
from ignite_etl.devstack import INSTANCE_YAML

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = Path(__file__).with_name("definitions.snapshot.json")
UPDATE_SNAPSHOT = "IGNITE_UPDATE_SNAPSHOT"


def test_definitions_load_with_the_connections_partitions_and_app_database():
    definitions = defs()
    assert "app_db" in definitions.resources
    assert isinstance(connections_partitions, dg.DynamicPartitionsDefinition)
    assert connections_partitions.name == "connections"
    for asset in definitions.assets or []:
        if isinstance(asset, dg.AssetsDefinition) and asset.partitions_def is not None:
            assert asset.partitions_def == connections_partitions


def graph_snapshot(definitions: dg.Definitions) -> dict:
    """What the Dagster UI shows of the code location: assets and their edges, checks, jobs, sensors
    and schedules. Run-time values (intervals, cron) come from Settings' defaults."""
    repository = definitions.get_repository_def()
    assets = {
        spec.key.to_user_string(): {
            "group": spec.group_name,
            "kinds": sorted(spec.kinds),
            "deps": sorted(dep.asset_key.to_user_string() for dep in spec.deps),
            "partitioned": spec.partitions_def is not None,
        }
        for spec in definitions.resolve_all_asset_specs()
    }
    checks = sorted(
        f"{key.asset_key.to_user_string()}:{key.name}" for key in definitions.resolve_asset_graph().asset_check_keys
    )
    jobs = {
        job.name: sorted(key.to_user_string() for key in job.asset_layer.selected_asset_keys)
        for job in repository.get_all_jobs()
        if not job.name.startswith("__")
    }
    sensors = {
        sensor.name: {
            "jobs": sorted(target.job_name for target in sensor.targets),
            "default_status": sensor.default_status.value,
            "minimum_interval_seconds": sensor.minimum_interval_seconds,
        }
        for sensor in repository.sensor_defs
    }
    schedules = {
        schedule.name: {
            "job": schedule.job_name,
            "cron": schedule.cron_schedule,
            "timezone": schedule.execution_timezone,
            "default_status": schedule.default_status.value,
        }
        for schedule in repository.schedule_defs
    }
    return {"assets": assets, "checks": checks, "jobs": jobs, "sensors": sensors, "schedules": schedules}


def test_the_dagster_graph_matches_its_committed_snapshot():
    """A change to the graph is a visible diff in review: regenerate with IGNITE_UPDATE_SNAPSHOT=1."""
    snapshot = graph_snapshot(defs())
    rendered = json.dumps(snapshot, indent=2, sort_keys=True) + "\n"
    if os.environ.get(UPDATE_SNAPSHOT):
        SNAPSHOT.write_text(rendered)
    assert SNAPSHOT.exists(), f"no snapshot yet: run with {UPDATE_SNAPSHOT}=1 and commit {SNAPSHOT.name}"
    committed = json.loads(SNAPSHOT.read_text())
    assert snapshot == committed, (
        f"the Dagster definitions changed; if that is intended, run with {UPDATE_SNAPSHOT}=1 and commit the diff"
    )


def _dagster(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    dagster_bin = Path(sys.executable).parent / "dagster"
    return subprocess.run(
        [str(dagster_bin), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )


def _bare_environment() -> dict[str, str]:
    """What a fresh clone has: no DAGSTER_HOME, no IGNITE_* variable."""
    return {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME" and not k.startswith("IGNITE_")}


def test_dagster_definitions_validate_passes_from_the_repository_root_with_nothing_set():
    result = _dagster("definitions", "validate", "-w", "workspace.yaml", env=_bare_environment())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation successful" in result.stdout + result.stderr


def test_the_deployed_instance_configuration_loads_against_postgres(make_database, tmp_path):
    """deploy/dagster.yaml, as production's DAGSTER_HOME holds it, against a real Postgres database."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(INSTANCE_YAML, home / "dagster.yaml")
    env = _bare_environment() | {
        "DAGSTER_HOME": str(home),
        "IGNITE_DAGSTER_DATABASE_URL": make_database("dagster_validate"),
    }
    result = _dagster("definitions", "validate", "-w", "workspace.yaml", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation successful" in result.stdout + result.stderr
    probe = subprocess.run(
        [sys.executable, "-c", "import dagster as dg; i = dg.DagsterInstance.get(); "
         "print(type(i.run_storage).__name__, type(i.run_coordinator).__name__)"],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.split() == ["PostgresRunStorage", "QueuedRunCoordinator"]


def test_every_job_has_a_maximum_runtime_that_run_monitoring_enforces():
    definitions = defs()
    jobs = [job for job in definitions.resolve_all_job_defs() if not job.name.startswith("__")]

    assert jobs and {job.name: MAX_RUNTIME_TAG in job.tags for job in jobs} == {job.name: True for job in jobs}
    assert all(int(job.tags[MAX_RUNTIME_TAG]) > 0 for job in jobs)
    instance = yaml.safe_load((Path(__file__).parents[1] / "deploy" / "dagster.yaml").read_text())
    assert instance["run_monitoring"]["enabled"] is True
    assert instance["run_monitoring"]["free_slots_after_run_end_seconds"] > 0  # a dead worker frees its pool slots


def _jobs(definitions: dg.Definitions) -> list[dg.JobDefinition]:
    return [job for job in definitions.resolve_all_job_defs() if not job.name.startswith("__")]


def test_steps_run_in_the_run_s_process_unless_a_broker_is_configured(monkeypatch):
    monkeypatch.delenv("IGNITE_CELERY_BROKER_URL", raising=False)
    assert {job.executor_def.name for job in _jobs(defs())} == {"in_process"}

    monkeypatch.setenv("IGNITE_CELERY_BROKER_URL", "amqp://ignite:hunter2@broker.internal:5672//")
    jobs = _jobs(defs())

    assert {job.executor_def.name for job in jobs} == {"celery"}
    # The broker URL may hold a password: the job carries the variable's name, never its value.
    for job in jobs:
        assert "hunter2" not in json.dumps(dg.serialize_value(job.get_job_snapshot()))
    full_sync = next(job for job in jobs if job.name == "full_sync")
    queues = {node.name: node.definition.tags.get("dagster-celery/queue") for node in full_sync.graph.node_dict.values()}
    assert queues["platform_catalogue"] == "ignite.platform" and queues["sparklayer_products"] == "ignite.sparklayer"
    assert queues["product_changes"] is None  # the default queue
