"""Failed-sync bookkeeping: marked once, every open data type failed, reopened by a re-execution."""

from __future__ import annotations

from datetime import datetime, timezone

from ignite_etl.store import sync_failures, sync_log
from ignite_etl.store.database import connect


def runs(conn, sync_id):
    rows = conn.execute("select data_type, finished_at, succeeded from sync_run where sync_id = %s", (sync_id,))
    return {r["data_type"]: (r["finished_at"] is not None, r["succeeded"]) for r in rows}


def test_a_failed_sync_is_marked_once_and_a_reexecution_can_still_close_it(database_url):
    with connect(database_url) as conn:
        sync_log.begin(conn, "c1", "s1", "products", "full")
        sync_log.begin(conn, "c1", "s1", "stock", "full")
        sync_log.finish(conn, "c1", "s1", "stock", succeeded=True, at=datetime.now(timezone.utc))

        marked = sync_failures.mark_failed(conn, run_id="r1", connection_id="c1", sync_id="s1", job_name="full_sync",
                                           message="worker died", data_types=["customers", "products", "stock"])
        assert marked == ["customers", "products"]  # stock had closed; customers never started
        assert runs(conn, "s1") == {"products": (True, False), "stock": (True, True), "customers": (True, False)}
        assert sync_failures.mark_failed(conn, run_id="r1", connection_id="c1", sync_id="s1", job_name="full_sync",
                                         message="worker died", data_types=["products"]) == []

        assert sync_failures.reopen(conn, "c1", "s1") == 2
        assert [r["data_type"] for r in sync_log.started_in(conn, "c1", "s1")] == ["customers", "products"]
        assert sync_log.finish(conn, "c1", "s1", "products", succeeded=True, at=datetime.now(timezone.utc))
        assert runs(conn, "s1")["products"] == (True, True)
        failure = conn.execute("select * from sync_failure").fetchone()
    assert (failure["run_id"], failure["sync_id"], failure["message"]) == ("r1", "s1", "worker died")
