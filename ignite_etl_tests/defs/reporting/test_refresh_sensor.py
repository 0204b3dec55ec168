"""The reporting refresh sensor on a real instance: after a sync run finishes, and periodically."""

from __future__ import annotations

import time

import dagster as dg

from ignite_etl.defs.reporting.sensors import RefreshCursor, reporting_refresh


@dg.op
def noop():
    return None


@dg.job
def some_sync():
    noop()


def evaluate(instance, cursor: RefreshCursor):
    return reporting_refresh(dg.build_sensor_context(instance=instance, cursor=cursor.dump()))


def test_a_finished_sync_run_triggers_one_refresh_and_then_nothing_until_the_next():
    with dg.instance_for_test() as instance:
        just_refreshed = RefreshCursor(seen_until=time.time(), refreshed_at=time.time())
        assert isinstance(evaluate(instance, just_refreshed), dg.SkipReason)

        some_sync.execute_in_process(instance=instance, tags={"ignite/sync_kind": "reconcile"})
        some_sync.execute_in_process(instance=instance, tags={"ignite/sync_kind": "full"})
        some_sync.execute_in_process(instance=instance)  # not a sync run: no tag

        result = evaluate(instance, RefreshCursor(seen_until=just_refreshed.seen_until - 1, refreshed_at=time.time()))
        (request,) = result.run_requests
        assert request.tags["ignite/reason"] == "2 sync run(s) finished"

        again = evaluate(instance, RefreshCursor.parse(result.cursor))
        assert isinstance(again, dg.SkipReason)


def test_a_refresh_is_due_every_quarter_hour_without_syncs():
    with dg.instance_for_test() as instance:
        result = evaluate(instance, RefreshCursor(seen_until=time.time(), refreshed_at=time.time() - 16 * 60))
        (request,) = result.run_requests
        assert request.tags["ignite/reason"] == "periodic refresh"
        assert reporting_refresh.job_name == "refresh_reporting"
