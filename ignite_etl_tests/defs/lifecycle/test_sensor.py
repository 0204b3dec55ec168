"""The lifecycle sensor with build_sensor_context on a real instance: which runs and partitions each
inbox row asks for, and that each is asked for once even when a tick is only half carried out."""

from __future__ import annotations

from collections import Counter

import dagster as dg

from ignite_etl.defs.partitions import CONNECTION_TAG
from ignite_etl.store.database import connect

from .conftest import CONNECTION_ID, RUN_KEY_TAG, SITE_PATH

SUCCESS, STARTED, NOT_STARTED = dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.NOT_STARTED


def connected_without_completion(stack) -> None:
    """A connect call whose completion has finished, as if earlier ticks had run."""
    assert stack.ingress.post(SITE_PATH, json=stack.platform_connect_body()).json()["status"] == "connected"
    with connect(stack.lifecycle.database_url) as conn:
        conn.execute("update connection_request set processed_at = now(), finished_at = now()")
    stack.lifecycle.instance.add_dynamic_partitions("connections", [CONNECTION_ID])


def test_connect_adds_the_partition_then_completion_then_full_sync(stack, lifecycle):
    stack.ingress.post(SITE_PATH, json=stack.platform_connect_body())
    [row] = lifecycle.inbox()

    first = lifecycle.evaluate()
    assert first.partitions("Add") == [CONNECTION_ID]
    assert first.run_keys == [f"inbox-{row['id']}-complete"]
    [completion] = first.result.run_requests
    assert completion.job_name == "complete_connection" and completion.partition_key == CONNECTION_ID
    assert completion.tags[CONNECTION_TAG] == CONNECTION_ID
    lifecycle.apply_partitions(first)
    lifecycle.record_run(completion, STARTED)

    assert lifecycle.evaluate().run_keys == []  # completion still running: nothing new
    lifecycle.instance.delete_run(lifecycle.instance.get_runs()[0].run_id)
    lifecycle.record_run(completion, SUCCESS)

    second = lifecycle.evaluate()
    assert second.run_keys == [f"inbox-{row['id']}-sync"] and second.partitions("Add") == []
    [sync] = second.result.run_requests
    assert sync.job_name == "full_sync" and sync.tags[CONNECTION_TAG] == CONNECTION_ID
    assert lifecycle.inbox()[0]["processed_at"] is None  # not until the full sync exists
    sync_run = lifecycle.record_run(sync, STARTED)

    assert lifecycle.evaluate().run_keys == []
    [row] = lifecycle.inbox()
    assert row["processed_at"] is not None and row["finished_at"] is None
    assert stack.ingress.post(f"{SITE_PATH}/status/products").status_code == 400  # the sync is running

    lifecycle.instance.report_run_canceled(sync_run)
    lifecycle.evaluate()
    assert lifecycle.inbox()[0]["finished_at"] is not None
    assert stack.ingress.post(f"{SITE_PATH}/status/products").status_code == 201


def test_a_tick_carried_out_halfway_is_redone_without_launching_anything_twice(stack, lifecycle):
    connected_without_completion(stack)
    stack.ingress.post(f"{SITE_PATH}/status/products")
    stack.ingress.post("/v1/live/second-store", json=stack.platform_connect_body())
    stack.ingress.post("/v1/live/third-store", json=stack.platform_connect_body())

    first = lifecycle.evaluate()
    assert len(first.run_keys) == 3
    again = lifecycle.evaluate()  # evaluated again before the daemon launched anything
    assert again.run_keys == first.run_keys

    lifecycle.apply_partitions(first)
    lifecycle.record_run(first.result.run_requests[0], SUCCESS)  # the daemon died after one launch

    second = lifecycle.evaluate()
    assert first.run_keys[0] not in second.run_keys
    assert set(second.run_keys) == set(first.run_keys[1:])
    for request in second.result.run_requests:
        lifecycle.record_run(request, SUCCESS)
    third = lifecycle.evaluate()  # the two completions succeeded: their full syncs
    assert sorted(third.run_keys) == sorted(k.replace("-complete", "-sync") for k in first.run_keys[1:])
    for request in third.result.run_requests:
        lifecycle.record_run(request, SUCCESS)

    assert lifecycle.evaluate().run_keys == []
    keys = Counter(run.tags[RUN_KEY_TAG] for run in lifecycle.instance.get_runs())
    assert len(keys) == 5 and set(keys.values()) == {1}
    assert all(r["processed_at"] and r["finished_at"] for r in lifecycle.inbox()[1:])


def test_a_pending_connect_asks_for_nothing(stack, lifecycle):
    body = {k: v for k, v in stack.platform_connect_body().items() if k != "extra_config"}
    stack.ingress.post(SITE_PATH, json=body)

    tick = lifecycle.evaluate()

    assert tick.run_keys == [] and tick.partitions("Add") == []
    assert lifecycle.inbox() == []  # a pending connection waits for the connect page, not for Dagster


def test_trigger_runs_a_full_sync_of_the_connection(stack, lifecycle):
    connected_without_completion(stack)
    assert stack.ingress.post(f"{SITE_PATH}/status/customers").status_code == 201

    tick = lifecycle.evaluate()

    [request] = tick.result.run_requests
    assert request.job_name == "full_sync" and request.partition_key == CONNECTION_ID
    assert request.tags[CONNECTION_TAG] == CONNECTION_ID
    assert tick.partitions("Add") == []  # already there


def test_remove_cancels_waiting_runs_then_removes_then_drops_the_partition(stack, lifecycle):
    connected_without_completion(stack)
    stack.ingress.post(f"{SITE_PATH}/status/products")
    waiting = lifecycle.record_run(lifecycle.evaluate().result.run_requests[0], NOT_STARTED)
    assert stack.ingress.delete(SITE_PATH).status_code == 204
    assert stack.ingress.post(f"{SITE_PATH}/status/products").status_code == 404

    first = lifecycle.evaluate()

    assert lifecycle.instance.get_run_by_id(waiting.run_id).status == dg.DagsterRunStatus.CANCELED
    [removal] = first.result.run_requests
    assert removal.job_name == "remove_connection" and removal.partition_key is None
    assert CONNECTION_TAG not in removal.tags  # never queued behind the runs it stops
    assert removal.run_config["ops"]["delete_connection_data"]["config"]["connection_id"] == CONNECTION_ID
    assert first.partitions("Delete") == []

    lifecycle.record_run(removal, SUCCESS)
    second = lifecycle.evaluate()
    assert second.partitions("Delete") == [CONNECTION_ID] and second.run_keys == []
    lifecycle.apply_partitions(second)

    lifecycle.evaluate()
    assert [r["kind"] for r in lifecycle.inbox()] == ["connect", "trigger"]  # the removal job deletes these
    assert CONNECTION_ID not in lifecycle.partitions()


def test_rows_before_a_removal_are_dropped_and_rows_after_it_wait(stack, lifecycle):
    connected_without_completion(stack)
    stack.ingress.post(f"{SITE_PATH}/status/products")  # never run: the removal supersedes it
    stack.ingress.delete(SITE_PATH)
    with connect(lifecycle.database_url) as conn:  # a call that arrived after the removal
        conn.execute("insert into connection_request (connection_id, kind, sync_data_type) "
                     "values (%s, 'trigger', 'products')", (CONNECTION_ID,))

    tick = lifecycle.evaluate()

    assert [r.job_name for r in tick.result.run_requests] == ["remove_connection"]
    rows = {r["kind"]: r for r in lifecycle.inbox()[1:3]}
    assert rows["trigger"]["outcome"] == "superseded by the connection's removal" and rows["trigger"]["finished_at"]
    assert lifecycle.inbox()[-1]["processed_at"] is None  # waits until the removal is done


def test_a_failed_removal_is_retried_after_a_wait_and_shows_in_sync_health(stack, lifecycle):
    connected_without_completion(stack)
    stack.ingress.delete(SITE_PATH)
    first = lifecycle.evaluate().result.run_requests[0]
    lifecycle.record_run(first, dg.DagsterRunStatus.FAILURE)

    failed = lifecycle.evaluate()
    waiting = lifecycle.evaluate()  # the next attempt is not due yet

    assert failed.run_keys == [] and waiting.run_keys == []
    removal = [r for r in lifecycle.inbox() if r["kind"] == "remove"][0]
    assert removal["attempts"] == 1 and removal["processed_at"] is None and removal["finished_at"] is None
    assert "attempt 1 failure" in removal["outcome"]
    with connect(lifecycle.database_url) as conn:
        health = conn.execute("select * from reporting.sync_health where connection_id = %s",
                              (CONNECTION_ID,)).fetchone()
        assert health["status"] == "removing" and health["removal_failures"] == 1
        assert health["removal_retry_at"] is not None and "failure" in health["removal_last_outcome"]
        conn.execute("update connection_request set not_before = now() where kind = 'remove'")  # the wait is over

    retried = lifecycle.evaluate()

    [again] = retried.result.run_requests
    assert again.job_name == "remove_connection" and again.run_key.endswith("-retry-1")
    lifecycle.record_run(again, SUCCESS)
    done = lifecycle.evaluate()
    assert done.partitions("Delete") == [CONNECTION_ID]
    assert stack.ingress.delete(SITE_PATH).status_code == 204  # DELETE while retrying queues nothing new
    assert len([r for r in lifecycle.inbox() if r["kind"] == "remove"]) == 1
