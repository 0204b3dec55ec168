"""A platform is one package and one registry line: FakeShop, which only the tests know, is registered and
goes through connect, the full sync, a webhook-driven partial sync and removal with nothing else changed."""

from __future__ import annotations

import json

import pytest

from ignite_etl.defs.partial.jobs import partial_sync
from ignite_etl.defs.partial.resources import ChangeQueuePolicy
from ignite_etl.platforms import platform_specs, register, unregister
from ignite_etl.store.database import connect
from ignite_etl.store.removal import rows_left
from ignite_etl_tests.platforms import fakeshop

from .conftest import CLIENT_ID, CLIENT_SECRET, CONNECTION_ID, SITE_PATH
from .test_end_to_end import settle


@pytest.fixture
def fake_platform():
    fakeshop.STORES["s1"] = fakeshop.FakeStore(products={
        "p1": ("Kettle", [fakeshop.FakeItem("K-1", "20.00", 5), fakeshop.FakeItem("K-2", "22.00", 0)]),
        "p2": ("Teapot", [fakeshop.FakeItem("T-1", "35.50", 9)]),
    })
    register(fakeshop.SPEC)
    yield fakeshop.STORES["s1"]
    unregister(fakeshop.NAME)
    fakeshop.STORES.clear()


def connect_body(**settings) -> dict:
    return {"store_id": "s1", "spark_api_client_id": CLIENT_ID, "spark_api_client_secret": CLIENT_SECRET,
            "extra_config": {"platform": "fakeshop", **settings}}


def test_a_platform_registered_in_the_tests_connects_syncs_takes_webhooks_and_is_removed(stack, lifecycle,
                                                                                       fake_platform):
    assert "fakeshop" in {spec.name for spec in platform_specs()}
    refused = stack.ingress.post(SITE_PATH, json=connect_body(fake_store="nowhere", fake_api_key="k", currency="NZD"))
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["property"] == "extra_config.fake_store"

    answer = stack.ingress.post(SITE_PATH, json=connect_body(fake_store="s1", fake_api_key="good-key", currency="NZD"))
    assert answer.json()["status"] == "connected"
    settle(lifecycle)

    assert [(r.job_def.name, r.success) for r in lifecycle.launched] == [("complete_connection", True),
                                                                          ("full_sync", True)]
    state = stack.sparklayer_state()
    assert state["price_lists"]["fakeshop-price"]["name"] == "FakeShop Price"
    assert state["stock_locations"]["fake-main"]["name"] == "FakeShop main warehouse"
    assert {p["title"] for p in state["products"].values()} == {"Kettle", "Teapot"}
    assert {s["sku"]: s["stock_level"] for s in state["stock"]} == {"K-1": 5, "K-2": 0, "T-1": 9}
    assert state["sync_logs"]["fakeshop/products"]["last_full_sync"]
    ((hook_url, key),) = fake_platform.webhooks
    assert hook_url.endswith(f"/webhooks/fakeshop/{CONNECTION_ID}")

    fake_platform.products["p2"] = ("Teapot, large", [fakeshop.FakeItem("T-1", "35.50", 4)])
    body = json.dumps({"type": "product", "id": "p2", "event": "evt-1"}).encode()
    forged = stack.ingress.post(f"/webhooks/fakeshop/{CONNECTION_ID}", content=body,
                                headers={"X-Fake-Signature": "0" * 64})
    delivered = stack.ingress.post(f"/webhooks/fakeshop/{CONNECTION_ID}", content=body,
                                   headers={"X-Fake-Signature": fakeshop.sign(body, key)})
    assert (forged.status_code, delivered.status_code) == (401, 202)
    resources = {**lifecycle.definitions.resources, "change_queue_policy": ChangeQueuePolicy(linger_seconds=0)}
    assert partial_sync.execute_in_process(instance=lifecycle.instance, resources=resources,
                                           partition_key=CONNECTION_ID).success

    state = stack.sparklayer_state()
    assert state["products"]["p2"]["title"] == "Teapot, large"
    assert {s["sku"]: s["stock_level"] for s in state["stock"]}["T-1"] == 4
    with connect(lifecycle.database_url) as conn:
        assert [r["entity_type"] for r in conn.execute("select entity_type from change_queue")] == ["product"]

    assert stack.ingress.delete(SITE_PATH).status_code == 204
    settle(lifecycle)

    assert lifecycle.launched[-1].job_def.name == "remove_connection" and lifecycle.launched[-1].success
    assert stack.sparklayer_state()["sync_logs"] == {}
    with connect(lifecycle.database_url) as conn:
        assert rows_left(conn, CONNECTION_ID) == {}


def test_an_uninstall_on_the_platform_removes_the_connection_as_sparklayer_s_delete_does(stack, lifecycle,
                                                                                         fake_platform):
    answer = stack.ingress.post(SITE_PATH, json=connect_body(fake_store="s1", fake_api_key="good-key", currency="NZD"))
    assert answer.json()["status"] == "connected"
    settle(lifecycle)
    ((_, key),) = fake_platform.webhooks

    body = json.dumps({"type": "uninstalled", "id": "s1", "event": "evt-bye"}).encode()
    forged = stack.ingress.post(f"/webhooks/fakeshop/{CONNECTION_ID}", content=body,
                                headers={"X-Fake-Signature": "0" * 64})
    assert forged.status_code == 401
    assert [r["kind"] for r in lifecycle.inbox()] == ["connect"]
    uninstalled = stack.ingress.post(f"/webhooks/fakeshop/{CONNECTION_ID}", content=body,
                                     headers={"X-Fake-Signature": fakeshop.sign(body, key)})
    assert (uninstalled.status_code, uninstalled.json()) == (202, {"queued": True, "removal": True})
    assert [r["kind"] for r in lifecycle.inbox()] == ["connect", "remove"]
    settle(lifecycle)

    assert lifecycle.launched[-1].job_def.name == "remove_connection" and lifecycle.launched[-1].success
    with connect(lifecycle.database_url) as conn:
        assert rows_left(conn, CONNECTION_ID) == {}
    assert CONNECTION_ID not in lifecycle.partitions()
