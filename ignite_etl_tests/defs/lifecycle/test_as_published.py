"""The lifecycle against the services as published: a refused base currency does not stop completion, a
reconnect with another key retires the old webhooks, and SparkLayer's trigger runs what it names."""

from __future__ import annotations

import dagster as dg

from ignite_etl.sandbox.marketplacer.catalogue import global_id
from ignite_etl.store.database import connect

from .conftest import CLIENT_ID, CLIENT_SECRET, CONNECTION_ID, SITE_ENV, SITE_ID, SITE_PATH
from .test_end_to_end import settle


def selected_assets(result: dg.ExecuteInProcessResult) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def test_a_refused_base_currency_leaves_completion_and_the_first_full_sync_done(stack, lifecycle):
    stack.sparklayer.add_site(SITE_ENV, SITE_ID, CLIENT_ID, CLIENT_SECRET, settings_api_allowed=False)  # Dashboard keys
    stack.marketplacer.generate(6, seed=3, broken_rate=0.0)

    assert stack.ingress.post(SITE_PATH, json=stack.platform_connect_body()).json()["status"] == "connected"
    settle(lifecycle)

    assert [(r.job_def.name, r.success) for r in lifecycle.launched] == [("complete_connection", True),
                                                                          ("full_sync", True)]
    state = stack.sparklayer_state()
    assert state["settings"]["baseCurrency"] is None
    assert "marketplacer-price" in state["price_lists"] and "marketplacer" in state["stock_locations"]
    assert state["products"] and state["stock"] and state["pricing"]["marketplacer-price"]
    log = state["sync_logs"]["marketplacer/products"]
    assert log["last_full_sync"] and "Global settings unavailable" in log["errors"]["setting:baseCurrency"]["message"]
    with connect(lifecycle.database_url) as conn:
        health = conn.execute("select * from reporting.sync_health where connection_id = %s", (CONNECTION_ID,)).fetchone()
        error = conn.execute("select * from reporting.sync_errors where connection_id = %s and entity = 'setting'",
                             (CONNECTION_ID,)).fetchone()
    assert health["open_errors_by_entity"] == {"setting": 1}
    assert "Dashboard" in error["resolution"]


def test_a_reconnect_with_a_new_key_retires_the_old_webhooks(stack, lifecycle):
    stack.marketplacer.set_api_keys("first-key", "second-key")
    stack.marketplacer.generate(4, seed=3, broken_rate=0.0)
    stack.ingress.post(SITE_PATH, json=stack.platform_connect_body(api_key="first-key"))
    settle(lifecycle)
    first = {w.legacy_id for w in stack.marketplacer.webhooks.webhooks.values()}

    stack.ingress.post(SITE_PATH, json=stack.platform_connect_body(api_key="second-key"))
    settle(lifecycle)

    hooks = stack.marketplacer.webhooks.webhooks
    assert {hooks[i].enabled for i in first} == {False}
    second = {i for i, w in hooks.items() if w.enabled}
    assert len(second) == len(first) and not second & first
    stack.marketplacer.webhooks.events.clear()
    stack.marketplacer.set_title(1, "Renamed after the reconnect")
    stack.marketplacer.deliver_webhooks()
    deliveries = stack.marketplacer.webhooks.deliveries
    assert deliveries and {d.webhook_id for d in deliveries} <= second
    assert {d.status for d in deliveries} == {202}  # signed with the key we now hold


def test_the_trigger_runs_the_part_of_the_sync_its_data_type_names(stack, lifecycle):
    mp = stack.marketplacer
    mp.generate(4, seed=3, broken_rate=0.0)
    stack.ingress.post(SITE_PATH, json=stack.platform_connect_body())
    settle(lifecycle)
    variant = next(v for v in mp.catalogue.variants.values() if v.sku)
    mp.set_stock(variant.legacy_id, 10)
    placed = mp.place_order([{"variant_id": variant.legacy_id, "quantity": 2}],
                            {"emailAddress": "ada@example.com", "firstName": "Ada", "surname": "L"},
                            {"address": "1 Main St", "city": "Sydney", "postcode": "2000", "country": "AU"}, "cart-5")
    launched = len(lifecycle.launched)

    for data_type in ("customers", "merchant", "products", "purchases", "customer_groups"):
        assert stack.ingress.post(f"{SITE_PATH}/status/{data_type}").status_code == 201
        settle(lifecycle)

    runs = lifecycle.launched[launched:]
    assert [r.job_def.name for r in runs] == ["full_sync", "full_sync", "full_sync", "orders_pass"]
    assert all(r.success for r in runs)
    assert selected_assets(runs[0]) == {"platform_customers", "customer_changes", "sparklayer_customers",
                                        "sparklayer_sync_log"}
    assert selected_assets(runs[1]) == {"sparklayer_settings"}
    assert "sparklayer_products" in selected_assets(runs[2]) and "sparklayer_customers" not in selected_assets(runs[2])
    assert list(stack.sparklayer_state()["customers"]) == ["ada@example.com"]
    (purchase,) = stack.sparklayer_state()["purchases"].values()
    assert purchase["purchase_identifiers"]["sparklayer"] == "cart-5"
    listed = stack.ingress.get(f"{SITE_PATH}/sync/purchases").json()
    assert [p["order_id"] for p in listed["data"]] == [global_id("Order", placed["order_id"])]
    assert listed["data"][0]["packages"][0]["line_items"][0]["quantity"] == 2
    fetched = stack.ingress.post(f"{SITE_PATH}/sync/purchases/{global_id('Order', placed['order_id'])}")
    assert fetched.json()["data"]["purchase_identifiers"]["sparklayer"] == "cart-5"
    groups = lifecycle.inbox()[-1]
    assert (groups["sync_data_type"], groups["finished_at"] is not None) == ("customer_groups", True)
    assert "customer groups" in groups["outcome"]
