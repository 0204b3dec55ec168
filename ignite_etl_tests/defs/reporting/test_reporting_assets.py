"""`sync_errors` and `sync_health` against a known scenario, on a real instance, with their checks."""

from __future__ import annotations

import dagster as dg
import pytest

from ignite_etl.defs.reporting import health_checks
from ignite_etl.defs.reporting.assets import sync_errors, sync_health
from ignite_etl.defs.resources import AppDatabase
from ignite_etl.store.database import connect

from ignite_etl_tests.defs.sync.conftest import CONNECTION_ID, each_store  # noqa: F401 - fixture

from . import scenario


@pytest.fixture
def reported(database_url, cipher, secret_key):
    scenario.build(database_url, cipher)
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [sync_errors, sync_health], instance=instance,
            resources={"app_db": AppDatabase(url=database_url, secret_key=secret_key)},
        )
        yield result


def metadata_of(result, asset: str) -> dict:
    (event,) = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == asset]
    return event.event_specific_data.materialization.metadata


def checks_of(result) -> dict:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_sync_errors_shows_every_open_problem_as_a_table(reported, database_url):
    shown = metadata_of(reported, "sync_errors")

    assert shown["open_problems"].value == 5 and shown["dagster/row_count"].value == 5
    assert shown["dead_letters"].value == 2
    assert shown["by_connection"].value == {"test-alpha": 3, "test-beta": 2}
    records = [r.data for r in shown["preview"].value.records]
    with connect(database_url) as conn:
        in_sql = conn.execute("select external_id, dead_letter from reporting.sync_errors").fetchall()
    assert sorted((r["external_id"], r["dead_letter"]) for r in records) == sorted(
        (r["external_id"], r["dead_letter"]) for r in in_sql)
    no_sku = next(r for r in records if r["external_id"] == "variant:1")
    assert (no_sku["connection_id"], no_sku["entity"], no_sku["attempts"], no_sku["dead_letter"]) == (
        "test-alpha", "variant", 3, False)
    assert no_sku["resolution"] == "Give it a SKU in Marketplacer" and no_sku["first_seen_at"]
    assert {c.name for c in shown["preview"].value.schema.columns} >= {
        "connection_id", "entity", "external_id", "message", "resolution", "first_seen_at", "last_seen_at",
        "attempts", "dead_letter"}


def test_sync_health_shows_each_connection(reported):
    shown = metadata_of(reported, "sync_health")

    assert (shown["connections"].value, shown["queue_depth"].value, shown["dead_letters"].value,
            shown["open_errors"].value) == (3, 4, 2, 3)
    rows = {r.data["connection_id"]: r.data for r in shown["preview"].value.records}
    assert rows["test-alpha"]["records_in_sparklayer"] == 6
    assert rows["test-alpha"]["open_errors_by_entity"] == "customer: 1, product: 1, variant: 1"
    assert rows["test-alpha"]["write_success_rate_last_day"] == 1.0
    assert rows["test-alpha"]["last_reconcile_drift"] == 4
    assert rows["test-beta"]["last_full_sync_succeeded"] is False
    assert rows["test-beta"]["last_failure"] == "SparkLayer could not be reached"
    assert rows["live-gamma"]["status"] == "pending"


def test_each_check_passes_for_the_healthy_store_and_warns_for_the_troubled_one(reported):
    checks = checks_of(reported)

    assert set(checks) == {"last_load_error_rate", "full_sync_fresh", "no_dead_letters", "queue_moving",
                           "removals_succeed"}
    assert checks.pop("removals_succeed").passed  # no connection is being removed
    for name, evaluation in checks.items():
        assert evaluation.passed is False, name
        assert evaluation.severity == dg.AssetCheckSeverity.WARN
        failing = evaluation.metadata["failing_connections"].value
        assert list(failing) == ["test-beta"], name  # alpha passes every check; gamma is not connected yet
        assert set(evaluation.metadata["per_connection"].value) == {"test-alpha", "test-beta"}
    assert "5 of 10 writes" in checks["last_load_error_rate"].metadata["failing_connections"].value["test-beta"]
    assert "30.0 h ago" in checks["full_sync_fresh"].metadata["failing_connections"].value["test-beta"]
    assert "ignite-etl replay test-beta" in checks["no_dead_letters"].metadata["failing_connections"].value["test-beta"]
    assert "2.0 h" in checks["queue_moving"].metadata["failing_connections"].value["test-beta"]


def test_checks_pass_when_every_connection_is_healthy(database_url, cipher, secret_key):
    scenario.build(database_url, cipher)
    with connect(database_url) as conn:
        conn.execute("delete from connection where id = 'test-beta'")
    with dg.instance_for_test() as instance:
        result = dg.materialize([sync_health], instance=instance,
                                resources={"app_db": AppDatabase(url=database_url, secret_key=secret_key)})

    checks = checks_of(result)
    assert len(checks) == 5
    assert all(c.passed for c in checks.values())
    assert all(c.metadata["failing_connections"].value == {} for c in checks.values())


def test_thresholds_decide_each_check(database_url, cipher):
    """The same rows pass with looser thresholds: each check depends on its threshold, not on a constant."""
    scenario.build(database_url, cipher)
    with connect(database_url) as conn:
        rows = conn.execute("select * from reporting.sync_health").fetchall()
        now = conn.execute("select now() as now").fetchone()["now"]
    from datetime import timedelta

    strict = health_checks.evaluate(rows, now)
    loose = health_checks.evaluate(rows, now, health_checks.Thresholds(
        error_rate=0.6, full_sync_max_age=timedelta(hours=31), queue_max_age=timedelta(hours=3)))
    assert [o.passed for o in strict] == [True, False, False, False, False]  # the first: no removal fails
    assert [o.passed for o in loose] == [True, True, True, False, True]  # dead letters have no threshold

    never = [{**rows[0], "status": "connected", "last_full_sync": None}]
    (fresh,) = [o for o in health_checks.evaluate(never, now) if o.name == "full_sync_fresh"]
    assert fresh.failing == {never[0]["connection_id"]: "has never completed a full sync"}


def test_a_removal_that_keeps_failing_is_a_warning_naming_its_next_attempt():
    from datetime import UTC, datetime

    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    rows = [{"connection_id": "test-gone", "status": "removing", "removal_failures": 3,
             "removal_last_outcome": "removal attempt 3 failure (run r3)", "removal_retry_at": now},
            {"connection_id": "test-going", "status": "removing", "removal_failures": 0}]

    (removals,) = [o for o in health_checks.evaluate(rows, now) if o.name == "removals_succeed"]

    assert list(removals.failing) == ["test-gone"]
    assert "failed 3 time(s)" in removals.failing["test-gone"] and "attempt 3 failure" in removals.failing["test-gone"]


def test_a_real_syncs_problems_and_health_reach_the_analysts_on_each_platform(each_store):
    store, shop = each_store, each_store.driver
    no_sku = shop.generate(20, seed=6, broken_rate=0.3)
    assert no_sku and store.sync().success

    result = dg.materialize([sync_errors, sync_health], instance=store.instance,
                            resources={"app_db": store.resources["app_db"]})

    errors = metadata_of(result, "sync_errors")
    records = {r.data["external_id"]: r.data for r in errors["preview"].value.records}
    assert {shop.problem_key(v) for v in no_sku} <= set(records)
    missing = records[shop.problem_key(no_sku[0])]
    assert missing["connection_id"] == CONNECTION_ID and shop.platform.title() in missing["resolution"]
    (health,) = [r.data for r in metadata_of(result, "sync_health")["preview"].value.records]
    assert health["last_full_sync_succeeded"] is True
    assert health["open_errors"] == len(records)
    assert health["records_in_sparklayer"] > 0
