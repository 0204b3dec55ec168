"""A removal that fails: SparkLayer refuses to delete the site's sync logs and the removal run dies; the
lifecycle sensor must try again after its wait, and the next attempt must remove everything."""

from __future__ import annotations

import time

import dagster as dg
import httpx

from ignite_etl.bench.stack import SITE_ENV
from ignite_etl.defs.lifecycle.sensors import evaluate_inbox, removal_retry_delay
from ignite_etl.defs.resources import AppDatabase
from ignite_etl.faults.harness import FaultStack, Outcome
from ignite_etl.faults.ingress_scenarios import Ingress
from ignite_etl.store.database import connect, one

PARTITIONS = "connections"


def _tick(stack: FaultStack, app_db: AppDatabase) -> list[dg.RunRequest]:
    """One evaluation of the lifecycle sensor, its partition requests applied as the daemon would."""
    tick = evaluate_inbox(stack.instance, app_db)
    for key in tick.deleted:
        stack.instance.delete_dynamic_partition(PARTITIONS, key)
    if tick.added:
        stack.instance.add_dynamic_partitions(PARTITIONS, tick.added)
    return list(tick.run_requests)


def removal_fails_then_succeeds(stack: FaultStack, *, wait_for_retry: bool = True) -> Outcome:
    scenario = "a removal that fails"
    site = stack.site("removal")
    if not stack.full_sync(site).succeeded:
        raise RuntimeError("the removal scenario's full sync failed")
    ingress = Ingress(stack)
    ingress.start()
    try:
        deleted = httpx.delete(f"{ingress.url}/v1/{SITE_ENV}/{site.site_id}",
                               headers={"Authorization": f"Bearer {ingress.env['IGNITE_INGRESS_TOKEN']}"})
    finally:
        ingress.stop()
    assert deleted.status_code == 204, deleted.text
    app_db = AppDatabase(url=stack.bench.app_url, secret_key=stack.bench.secret_key)

    stack.sparklayer.fail_next(10**6, 503, path_contains="/sync-log")  # SparkLayer will not delete the logs
    [first] = _tick(stack, app_db)
    refused = lambda: any(e.method == "DELETE" and e.fault for e in stack.sparklayer.journal(  # noqa: E731
        env=SITE_ENV, site_id=site.site_id))
    attempt = stack.removal(site, dict(first.run_config), {**first.tags, "dagster/run_key": first.run_key or ""},
                            kill_when=refused)
    stack.sparklayer.set_faults(fail_next=0)
    failed_at = time.monotonic()
    asked_at_once = _tick(stack, app_db)
    with connect(stack.bench.app_url) as conn:
        row = one(conn.execute("select attempts, outcome from connection_request where connection_id = %s and "
                               "kind = 'remove'", (site.connection_id,)).fetchone())
        if wait_for_retry:
            time.sleep(removal_retry_delay(1))
        else:  # the wait is the sensor's own arithmetic (tested on its own); skip it here
            conn.execute("update connection_request set not_before = now() where connection_id = %s",
                         (site.connection_id,))
    [retry] = _tick(stack, app_db)
    second = stack.removal(site, dict(retry.run_config), {**retry.tags, "dagster/run_key": retry.run_key or ""})
    for _ in range(3):
        _tick(stack, app_db)
    with connect(stack.bench.app_url) as conn:
        left = {table: one(conn.execute(f"select count(*) as n from {table} where connection_id = %s",  # noqa: S608
                                        (site.connection_id,)).fetchone())["n"]
                for table in ("connection_request", "sync_state", "sync_error", "change_queue")}
        left["connection"] = one(conn.execute("select count(*) as n from connection where id = %s",
                                              (site.connection_id,)).fetchone())["n"]
    logs = stack.sparklayer.state(SITE_ENV, site.site_id)["sync_logs"]
    converged = (attempt.killed_in is not None and not asked_at_once and row["attempts"] == 1 and second.succeeded
                 and not any(left.values()) and not logs and site.connection_id not in
                 stack.instance.get_dynamic_partitions(PARTITIONS))
    return Outcome(scenario, "SparkLayer refused to delete the sync logs and the removal run died",
                   converged, 0, 0, round(time.monotonic() - failed_at, 1),
                   f"retried after {removal_retry_delay(1):.0f} s ({'waited' if wait_for_retry else 'wait skipped'}); "
                   f"left behind: {sum(left.values())} row(s), {len(logs)} sync log(s)")
