"""Connect -> partition -> completion and full sync into the SparkLayer simulator -> trigger -> remove ->
sync logs gone in the simulator and no local row left, every step through the real ingress and runs."""

from __future__ import annotations

import dagster as dg

from ignite_etl.store.connections import get_connection
from ignite_etl.store.database import connect
from ignite_etl.store.removal import rows_left

from .conftest import CONNECTION_ID, SITE_PATH


def settle(lifecycle, ticks: int = 6) -> None:
    """Ticks until the sensor asks for nothing more (the daemon would run them on its interval)."""
    for _ in range(ticks):
        tick = lifecycle.tick()
        if not tick.run_keys and not tick.partitions("Add") and not tick.partitions("Delete"):
            return
    raise AssertionError("the lifecycle did not settle")


def test_connect_sync_trigger_and_remove_end_to_end(stack, lifecycle, cipher):
    stack.marketplacer.generate(8, seed=5, broken_rate=0.0)

    # connect, platform-initiated: completes at once
    answer = stack.ingress.post(SITE_PATH, json=stack.platform_connect_body())
    assert answer.json()["status"] == "connected"
    settle(lifecycle)

    assert CONNECTION_ID in lifecycle.partitions()
    assert [r.job_def.name for r in lifecycle.launched] == ["complete_connection", "full_sync"]
    assert all(r.success for r in lifecycle.launched)
    webhooks = list(stack.marketplacer.webhooks.webhooks.values())
    assert {w.type for w in webhooks} and {w.url for w in webhooks} == {
        f"{stack.ingress_url}/webhooks/marketplacer/{CONNECTION_ID}"}
    with connect(lifecycle.database_url) as conn:
        connection = get_connection(conn, cipher, CONNECTION_ID)
    assert connection.webhook_secret == webhooks[0].hmac_key  # stored encrypted, readable with the key
    state = stack.sparklayer_state()
    assert "marketplacer-price" in state["price_lists"]
    assert state["products"] and state["sync_logs"]["marketplacer/products"]["last_full_sync"]
    [request] = lifecycle.inbox()
    assert request["processed_at"] and request["finished_at"]

    # connect again: completion re-runs safely (no second set of webhooks, no settings rewritten)
    settings_writes = len(stack.sparklayer.journal(env="test", site_id="bobs-store", path_contains="settings"))
    stack.ingress.post(SITE_PATH, json=stack.platform_connect_body())
    lifecycle.tick()
    assert lifecycle.launched[-1].job_def.name == "complete_connection" and lifecycle.launched[-1].success
    assert len(stack.marketplacer.webhooks.webhooks) == len(webhooks)
    assert len(stack.sparklayer.journal(env="test", site_id="bobs-store", path_contains="settings")) == settings_writes
    [full_sync] = lifecycle.evaluate().result.run_requests  # the same full sync as above, shown already
    lifecycle.record_run(full_sync, dg.DagsterRunStatus.SUCCESS)
    settle(lifecycle)

    # the pull endpoints answer from the extract the sync left
    listed = stack.ingress.get(f"{SITE_PATH}/sync/products").json()["data"]
    assert {p["external_id"] for p in listed} == {p["external_id"] for p in listed if p["variants"] is not None}
    assert len(listed) == 8

    # trigger: queued, refused while queued, runs, accepted again
    assert stack.ingress.post(f"{SITE_PATH}/status/products").status_code == 201
    assert stack.ingress.post(f"{SITE_PATH}/status/products").status_code == 400
    settle(lifecycle)
    assert lifecycle.launched[-1].job_def.name == "full_sync" and lifecycle.launched[-1].success
    assert stack.ingress.post(f"{SITE_PATH}/status/products").status_code == 201
    syncs_before_removal = len(lifecycle.launched)

    # a change in the store reaches the ingress as a signed webhook and is queued
    advert = next(iter(stack.marketplacer.catalogue.adverts.values()))
    stack.marketplacer.set_title(advert.legacy_id, "Renamed before removal")
    stack.marketplacer.deliver_webhooks()
    with connect(lifecycle.database_url) as conn:
        stored = rows_left(conn, CONNECTION_ID)
    for table in ("public.connection", "public.sync_state", "public.sync_run", "public.change_queue",
                  "platform.platform_products", "platform.platform_variants"):
        assert stored.get(table), (table, stored)

    # remove: the trigger still queued is dropped, not run
    assert stack.ingress.delete(SITE_PATH).status_code == 204
    settle(lifecycle)

    assert len(lifecycle.launched) == syncs_before_removal + 1
    assert lifecycle.launched[-1].job_def.name == "remove_connection" and lifecycle.launched[-1].success
    assert stack.sparklayer_state()["sync_logs"] == {}
    deletes = stack.sparklayer.journal(env="test", site_id="bobs-store", path_contains="sync-log")
    assert [e.method for e in deletes if e.method == "DELETE"] == ["DELETE"]
    assert CONNECTION_ID not in lifecycle.partitions()
    with connect(lifecycle.database_url) as conn:
        assert rows_left(conn, CONNECTION_ID) == {}
    assert stack.ingress.post(f"{SITE_PATH}/status/products").status_code == 404
    assert stack.ingress.post(f"/webhooks/marketplacer/{CONNECTION_ID}", content=b"{}").status_code == 404

    # and the site can connect again from scratch
    again = stack.ingress.post(SITE_PATH, json=stack.platform_connect_body())
    tick = lifecycle.evaluate()
    assert again.json()["status"] == "connected"
    assert tick.partitions("Add") == [CONNECTION_ID]
    assert [r.job_name for r in tick.result.run_requests] == ["complete_connection"]
