"""The change-queue sensor against a real Postgres and a real Dagster instance."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
import pytest

from ignite_etl.defs.partial.jobs import partial_sync
from ignite_etl.defs.partial.sensors import busy_connections, change_queue_sensor_for, partial_sync_requests
from ignite_etl.defs.resources import AppDatabase
from ignite_etl.store import change_queue
from ignite_etl.store.change_queue import QueuedChange, RetryPolicy
from ignite_etl.store.connections import save_connection
from ignite_etl.store.database import connect


@pytest.fixture
def app_db(database_url, cipher, secret_key):
    with connect(database_url) as conn:
        for site_id in ("alpha", "beta", "gamma"):
            save_connection(conn, cipher, site_env="test", site_id=site_id, platform="marketplacer",
                            status="connected", sparklayer_credentials={"client_id": "c", "client_secret": "s"},
                            platform_config={}, platform_secrets={})
    return AppDatabase(url=database_url, secret_key=secret_key)


change_queue_sensor = change_queue_sensor_for(30)


def queue(app_db, connection_id: str, key: str, entity_type: str = "product") -> int | None:
    with app_db.connect() as conn:
        return change_queue.enqueue(conn, QueuedChange(connection_id, entity_type, f"id-{key}", "update", key))


def tick(instance, app_db, cursor=None) -> dg.SensorResult:
    context = dg.build_sensor_context(instance=instance, resources={"app_db": app_db}, cursor=cursor)
    return change_queue_sensor(context)


def test_one_partial_sync_per_connection_with_due_rows(app_db):
    for key in ("a1", "a2", "a3"):
        queue(app_db, "test-alpha", key)
    last_beta = queue(app_db, "test-beta", "b1", "variant")
    assert queue(app_db, "test-beta", "b1", "variant") is None  # a duplicate delivery
    assert queue(app_db, "test-nobody", "n1") is None  # no such connection: nothing queued

    with dg.instance_for_test() as instance:
        result = tick(instance, app_db)

    requests = {r.partition_key: r for r in result.run_requests}
    assert set(requests) == {"test-alpha", "test-beta"}
    assert requests["test-alpha"].tags == {"ignite/connection": "test-alpha", "ignite/sync_kind": "partial"}
    assert requests["test-alpha"].run_key.startswith("partial-test-alpha-3-")
    assert result.cursor == str(last_beta)


def test_run_key_changes_when_new_rows_arrive_or_a_backoff_ends(app_db):
    def pending() -> change_queue.PendingConnection:
        with app_db.connect() as conn:
            (one,) = change_queue.pending_connections(conn)
            return one

    first = queue(app_db, "test-alpha", "a1")
    before = pending()
    queue(app_db, "test-alpha", "a2")
    after_new_row = pending()
    with app_db.connect() as conn:
        change_queue.reschedule(conn, [first], "SparkLayer was down", RetryPolicy(base_delay=timedelta(0)))
    after_backoff = pending()

    assert before.run_key != after_new_row.run_key != after_backoff.run_key
    assert pending().run_key == after_backoff.run_key  # stable while nothing changes: no second run


def test_rows_waiting_out_a_backoff_and_removed_connections_launch_nothing(app_db):
    waiting = queue(app_db, "test-alpha", "a1")
    queue(app_db, "test-gamma", "g1")
    with app_db.connect() as conn:
        change_queue.reschedule(conn, [waiting], "SparkLayer was down", RetryPolicy())
        conn.execute("delete from connection where id = 'test-gamma'")

    with dg.instance_for_test() as instance:
        result = tick(instance, app_db)

    assert result.run_requests == []


def test_busy_connections_are_skipped_and_runs_per_tick_are_capped(app_db):
    for cid in ("test-alpha", "test-beta", "test-gamma"):
        queue(app_db, cid, f"{cid}-1")
    with app_db.connect() as conn:
        pending = change_queue.pending_connections(conn)

    requests = partial_sync_requests(pending, busy={"test-alpha"}, cap=1)

    assert [r.partition_key for r in requests] == ["test-beta"]


def test_a_running_partial_sync_marks_its_connection_busy(app_db):
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("connections", ["test-alpha"])
        run = instance.create_run_for_job(
            partial_sync, tags={"ignite/connection": "test-alpha", "ignite/sync_kind": "partial"},
            status=dg.DagsterRunStatus.STARTED,
        )
        assert run.status == dg.DagsterRunStatus.STARTED
        assert busy_connections(instance) == {"test-alpha"}
        queue(app_db, "test-alpha", "a1")
        assert tick(instance, app_db).run_requests == []
