"""The webhook route over real HTTP: signed deliveries from the Marketplacer simulator become queue rows."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from ignite_etl.ingress.app import create_app
from ignite_etl.platforms import platform_for
from ignite_etl.platforms.marketplacer.webhooks import signature
from ignite_etl.platforms.outbound import SANDBOX
from ignite_etl.sandbox.marketplacer.sandbox import DEFAULT_API_KEY, MarketplacerSandbox
from ignite_etl.sandbox.server import BackgroundServer
from ignite_etl.store import change_queue
from ignite_etl.store.connections import save_connection, save_webhook_registration
from ignite_etl.store.database import connect

from .conftest import CONNECTION_ID, ingress_config


@pytest.fixture
def ingress(database_url, secret_key):
    """Our own ingress per test: its HMAC-key cache must not outlive the test's connection."""
    with BackgroundServer(create_app(ingress_config(database_url, secret_key))) as server:
        yield server


@pytest.fixture
def store(database_url, cipher, ingress):
    """A connected Marketplacer simulator whose webhooks point at our ingress."""
    sandbox = MarketplacerSandbox(time_scale=0.001, auto_deliver=False)
    with BackgroundServer(sandbox.app) as mp_server:
        with connect(database_url) as conn:
            save_connection(
                conn, cipher, site_env="test", site_id="bobs-store", platform="marketplacer", status="connected",
                sparklayer_credentials={"client_id": "c", "client_secret": "s"},
                platform_config={"marketplacer_api_url": f"{mp_server.url}/graphql", "currency": "AUD"},
                platform_secrets={"marketplacer_api_key": DEFAULT_API_KEY},
            )
            platform = platform_for("marketplacer",
                {"marketplacer_api_url": f"{mp_server.url}/graphql", "currency": "AUD"},
                {"marketplacer_api_key": DEFAULT_API_KEY}, outbound=SANDBOX,
            )
            url = f"{ingress.url}/webhooks/marketplacer/{CONNECTION_ID}"
            with platform:
                registration = platform.register_webhooks(url)
            save_webhook_registration(conn, cipher, CONNECTION_ID, url=url, key=registration.key,
                                      state=registration.state)
            key = registration.key
        sandbox.generate(3, seed=7, broken_rate=0)
        sandbox.webhooks.events.clear()
        yield sandbox, key
    sandbox.close()


def queue_rows(database_url):
    with connect(database_url) as conn:
        return conn.execute("select * from change_queue order by id").fetchall()


def signed_delivery(key: str, node: dict, *, event_id: str = "V2ViaG9va0V2ZW50LTE=", event: str = "update",
                    idempotency_key: str | None = "c2FuZGJveDox") -> tuple[bytes, dict]:
    body = json.dumps({"id": event_id, "event_name": event, "payload": {"data": {"node": node}}}).encode()
    headers = {"Content-Type": "application/json", "Marketplacer-Hmac-256": signature(body, key),
               "Marketplacer-Sequence": "7"}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    return body, headers


def test_signed_simulator_deliveries_become_one_queue_row_each(store, database_url):
    sandbox, _key = store
    advert_id = next(iter(sandbox.catalogue.adverts))
    sandbox.set_title(advert_id, "A new title")
    sandbox.deliver_webhooks()

    rows = queue_rows(database_url)
    assert [(r["entity_type"], r["event"], r["status"]) for r in rows] == [("product", "update", "pending")]
    assert rows[0]["entity_id"] == base64.b64encode(f"Advert-{advert_id}".encode()).decode()
    assert rows[0]["connection_id"] == CONNECTION_ID
    assert rows[0]["sequence"] is not None
    assert all(d.status == 202 for d in sandbox.webhooks.deliveries)


def test_duplicate_deliveries_are_queued_once(store, database_url):
    sandbox, _key = store
    sandbox.set_webhook_chaos(duplicate_rate=1.0)
    variant_id = next(iter(sandbox.catalogue.variants))
    sandbox.set_stock(variant_id, 42)
    sandbox.deliver_webhooks()

    deliveries = sandbox.webhooks.deliveries
    assert len(deliveries) == 2 * len({d.event_id for d in deliveries})  # every event sent twice
    assert {d.status for d in deliveries} <= {200, 202}
    rows = queue_rows(database_url)
    assert len(rows) == len({d.event_id for d in deliveries})
    assert len({r["idempotency_key"] for r in rows}) == len(rows)


def test_forged_or_tampered_deliveries_get_401_and_write_nothing(store, ingress, database_url):
    _sandbox, key = store
    url = f"{ingress.url}/webhooks/marketplacer/{CONNECTION_ID}"
    body, headers = signed_delivery(key, {"__typename": "Advert", "id": "QWR2ZXJ0LTE="})
    forged = httpx.post(url, content=body, headers={**headers, "Marketplacer-Hmac-256": signature(body, "not-the-key")})
    tampered = httpx.post(url, content=body.replace(b"LTE", b"LTI"), headers=headers)
    unsigned = httpx.post(url, content=body, headers={k: v for k, v in headers.items() if k != "Marketplacer-Hmac-256"})

    for answer in (forged, tampered, unsigned):
        assert answer.status_code == 401
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["status"] == 401
        assert key not in answer.text
    assert queue_rows(database_url) == []


def test_valid_events_we_do_not_sync_get_2xx_and_are_not_queued(store, ingress, database_url):
    _sandbox, key = store
    url = f"{ingress.url}/webhooks/marketplacer/{CONNECTION_ID}"
    body, headers = signed_delivery(key, {"__typename": "Shipment", "id": "U2hpcG1lbnQtMQ=="})
    answer = httpx.post(url, content=body, headers=headers)
    assert answer.status_code == 200
    assert queue_rows(database_url) == []


def test_an_oversized_delivery_gets_413_and_writes_nothing(store, ingress, database_url):
    _sandbox, key = store
    body, headers = signed_delivery(key, {"__typename": "Advert", "id": "QWR2ZXJ0LTE=", "pad": "x" * 20_000})
    answer = httpx.post(f"{ingress.url}/webhooks/marketplacer/{CONNECTION_ID}", content=body, headers=headers)
    assert answer.status_code == 413
    assert queue_rows(database_url) == []


def test_unknown_connection_gets_404_problem(ingress, database_url):
    answer = httpx.post(f"{ingress.url}/webhooks/marketplacer/test-nobody", content=b"{}",
                        headers={"Marketplacer-Hmac-256": "x"})
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert queue_rows(database_url) == []


def test_removed_connection_queues_nothing(store, ingress, database_url):
    _sandbox, key = store
    url = f"{ingress.url}/webhooks/marketplacer/{CONNECTION_ID}"
    first, headers = signed_delivery(key, {"__typename": "Advert", "id": "QWR2ZXJ0LTE="}, event_id="k1")
    assert httpx.post(url, content=first, headers=headers).status_code == 202  # the key is now cached
    with connect(database_url) as conn:
        conn.execute("delete from connection where id = %s", (CONNECTION_ID,))
    second, headers = signed_delivery(key, {"__typename": "Advert", "id": "QWR2ZXJ0LTI="}, event_id="k2")
    answer = httpx.post(url, content=second, headers=headers)
    assert answer.status_code in (200, 404)
    assert [r["idempotency_key"] for r in queue_rows(database_url)] == ["k1"]


def test_a_connection_being_removed_queues_nothing(store, ingress, database_url):
    _sandbox, key = store
    url = f"{ingress.url}/webhooks/marketplacer/{CONNECTION_ID}"
    with connect(database_url) as conn:  # what DELETE /v1/... commits before the removal job deletes rows
        conn.execute("update connection set status = 'removing' where id = %s", (CONNECTION_ID,))
    body, headers = signed_delivery(key, {"__typename": "Advert", "id": "QWR2ZXJ0LTE="}, event_id="k1")
    answer = httpx.post(url, content=body, headers=headers)
    assert (answer.status_code, answer.json()) == (200, {"queued": False})  # signed right; not queued
    assert queue_rows(database_url) == []


def test_a_new_webhook_key_takes_effect_at_once(store, ingress, database_url, cipher):
    _sandbox, key = store
    url = f"{ingress.url}/webhooks/marketplacer/{CONNECTION_ID}"
    body, headers = signed_delivery(key, {"__typename": "Variant", "id": "VmFyaWFudC0x"}, event_id="a")
    assert httpx.post(url, content=body, headers=headers).status_code == 202  # old key cached
    with connect(database_url) as conn:
        save_webhook_registration(conn, cipher, CONNECTION_ID, url="elsewhere", key="the-new-key", state={})
    body, headers = signed_delivery("the-new-key", {"__typename": "Variant", "id": "VmFyaWFudC0x"}, event_id="b")
    assert httpx.post(url, content=body, headers=headers).status_code == 202
    assert [r["idempotency_key"] for r in queue_rows(database_url)] == ["a", "b"]


def test_a_delivery_without_idempotency_key_is_deduplicated_by_its_body_id(store, ingress, database_url):
    _sandbox, key = store
    url = f"{ingress.url}/webhooks/marketplacer/{CONNECTION_ID}"
    body, headers = signed_delivery(key, {"__typename": "Invoice", "id": "SW52b2ljZS0x"}, idempotency_key=None,
                                    event_id="V2ViaG9va0V2ZW50LTk=")
    assert httpx.post(url, content=body, headers=headers).status_code == 202
    assert httpx.post(url, content=body, headers=headers).status_code == 200
    rows = queue_rows(database_url)
    assert [(r["entity_type"], r["idempotency_key"]) for r in rows] == [("order", "V2ViaG9va0V2ZW50LTk=")]
    with connect(database_url) as conn:
        assert change_queue.status_counts(conn, CONNECTION_ID) == {"pending": 1, "done": 0, "dead": 0}
