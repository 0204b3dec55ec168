"""A failed or crashed full sync is marked in sync_run, sync_health and SparkLayer's sync log."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time

import dagster as dg
import pytest

from ignite_etl.defs.reporting.run_failures import sync_run_failure
from ignite_etl.defs.resources import AppDatabase
from ignite_etl.defs.sync import assets as sync_assets
from ignite_etl.store import reporting
from ignite_etl.store.cipher import CredentialCipher
from ignite_etl.store.database import connect
from ignite_etl_tests.defs.sync.conftest import (  # noqa: F401 - fixture
    CLIENT_SECRET,
    CONNECTION_ID,
    FULL_SYNC_ASSETS,
    LOAD_OPS,
    FastSyncServices,
    connected_store,
)

SYNC_TAGS = {"ignite/connection": CONNECTION_ID, "ignite/sync_kind": "full"}


def evaluate_sensor(store, run: dg.DagsterRun, event: dg.DagsterEvent):
    with dg.build_run_status_sensor_context(
        sensor_name="sync_run_failure", dagster_event=event, dagster_instance=store.instance, dagster_run=run,
        resources={"sync_services": store.resources["sync_services"]},
    ) as context:
        return sync_run_failure(context.for_run_failure())


def health(store) -> dict:
    with connect(store.database_url) as conn:
        return next(r for r in reporting.sync_health(conn) if r["connection_id"] == CONNECTION_ID)


def sync_runs(store, sync_id: str) -> dict[str, tuple]:
    with connect(store.database_url) as conn:
        rows = conn.execute("select data_type, finished_at, succeeded from sync_run where sync_id = %s", (sync_id,))
        return {r["data_type"]: (r["finished_at"] is not None, r["succeeded"]) for r in rows}


def test_a_failed_sync_run_marks_the_sync_log_and_sync_health(connected_store):
    store = connected_store
    store.marketplacer.generate(3, seed=5, broken_rate=0.0)
    assert store.sync().success
    good = store.sync_log("products")["last_full_sync"]
    # The run's workers were started with another IGNITE_SECRET_KEY: stored credentials cannot be read.
    wrong_key = AppDatabase(url=store.database_url, secret_key=CredentialCipher.generate_key())
    services = store.resources["sync_services"]
    misconfigured = {**store.resources, "app_db": wrong_key, "sync_services": FastSyncServices(
        app_db=wrong_key, sparklayer_api_url=services.sparklayer_api_url, platform_page_size=25,
        platform_time_scale=0.001)}

    failed = dg.materialize(
        FULL_SYNC_ASSETS, selection=[sync_assets.price_changes, sync_assets.sparklayer_prices],
        partition_key=CONNECTION_ID, instance=store.instance, resources=misconfigured, tags=SYNC_TAGS,
        run_config={"ops": {"sparklayer_prices": {"config": {"dry_run": False}}}}, raise_on_error=False,
    )
    assert not failed.success

    outcome = evaluate_sensor(store, failed.dagster_run, failed.get_run_failure_event())

    assert outcome is None  # acted, nothing to skip
    log = store.sync_log("products")
    assert log["last_full_sync_succeeded"] is False
    assert log["last_full_sync"] == good  # only a completed sync moves it
    assert store.sync_log("stock")["last_full_sync_succeeded"] is True  # the run did not sync stock
    assert sync_runs(store, failed.run_id) == {"products": (True, False)}
    shown = health(store)
    assert shown["last_full_sync_succeeded"] is False
    assert shown["last_failed_run_id"] == failed.run_id and shown["last_failed_run_at"] is not None
    assert shown["last_failure"]
    assert CLIENT_SECRET not in shown["last_failure"]

    again = evaluate_sensor(store, failed.dagster_run, failed.get_run_failure_event())
    assert isinstance(again, dg.SkipReason)  # a re-evaluated tick marks nothing twice


def test_a_run_dagster_will_retry_and_a_run_that_is_no_sync_are_left_alone(connected_store):
    store = connected_store

    @dg.op
    def boom():
        raise RuntimeError("not a sync")

    @dg.job
    def other_job():
        boom()

    for tags in ({}, {**SYNC_TAGS, "dagster/will_retry": "true"}):
        result = other_job.execute_in_process(instance=store.instance, tags=tags, raise_on_error=False)
        outcome = evaluate_sensor(store, result.dagster_run, result.get_run_failure_event())
        assert isinstance(outcome, dg.SkipReason)
    assert store.sync_log("products") == {}
    with connect(store.database_url) as conn:
        assert conn.execute("select count(*) as n from sync_failure").fetchone()["n"] == 0


def _sync_in_child(instance_ref, resources, tags) -> None:
    """The run worker: a real full sync that the test kills half way. It enters its instance as Dagster's
    run worker does, so definition loading reads this instance's defs-state storage, not whatever the
    fork inherited."""
    with dg.DagsterInstance.from_ref(instance_ref) as instance:
        dg.materialize(FULL_SYNC_ASSETS, partition_key=CONNECTION_ID, instance=instance, resources=resources,
                       tags=tags, run_config={"ops": {op: {"config": {"dry_run": False}} for op in LOAD_OPS}})


@pytest.mark.timeout(120)
def test_a_crashed_sync_run_is_marked_failed_and_the_next_sync_recovers(connected_store):
    store = connected_store
    store.marketplacer.generate(20, seed=13, broken_rate=0.0)
    store.sparklayer.set_faults(latency_seconds=0.1)  # slow enough to kill mid-load
    worker = multiprocessing.get_context("fork").Process(
        target=_sync_in_child, args=(store.instance.get_ref(), store.resources, SYNC_TAGS))
    worker.start()
    deadline = time.monotonic() + 60
    while not [e for e in store.data_writes() if e.method == "POST" and e.path.endswith("/api/v1/products")]:
        assert worker.is_alive() and time.monotonic() < deadline, "the sync never started writing"
        time.sleep(0.05)
    os.kill(worker.pid, signal.SIGKILL)
    worker.join(timeout=10)
    store.sparklayer.set_faults(latency_seconds=0.0)

    (run,) = store.instance.get_runs()
    assert run.status == dg.DagsterRunStatus.STARTED  # nobody told Dagster: the worker just died
    assert store.sync_log("products")["started_full_sync"] is not None
    # What run monitoring does when it finds the worker gone:
    event = store.instance.report_run_failed(run, "The run worker process exited unexpectedly")
    run = store.instance.get_run_by_id(run.run_id)
    assert run.status == dg.DagsterRunStatus.FAILURE

    assert evaluate_sensor(store, run, event) is None

    assert store.sync_log("products")["last_full_sync_succeeded"] is False
    assert store.sync_log("products")["last_full_sync"] is None
    assert set(sync_runs(store, run.run_id).values()) == {(True, False)}
    assert health(store)["last_failed_run_id"] == run.run_id
    assert health(store)["last_full_sync"] is None

    assert store.sync().success
    assert store.sync_log("products")["last_full_sync_succeeded"] is True
    shown = health(store)
    assert shown["last_full_sync_succeeded"] is True and shown["last_full_sync"] is not None
