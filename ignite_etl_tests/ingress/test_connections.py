"""SparkLayer's connect, remove and trigger calls over real HTTP against the ingress on the test database."""

from __future__ import annotations

import json

import pytest

from ignite_etl.store.connections import get_connection
from ignite_etl.store.database import connect

from .conftest import CONNECTION_ID, SITE_PATH

CLIENT_ID, CLIENT_SECRET = "bobs-client", "bobs-client-secret-value"
API_KEY = "marketplacer-key-value-123"


def connect_body(**extra_config) -> dict:
    body = {"store_id": "store-1", "spark_api_client_id": CLIENT_ID, "spark_api_client_secret": CLIENT_SECRET}
    if extra_config:
        body["extra_config"] = extra_config
    return body


def platform_body(**overrides) -> dict:
    config = {"platform": "marketplacer", "marketplacer_api_url": "https://bobs.marketplacer.test/graphql",
              "marketplacer_api_key": API_KEY, "currency": "aud", **overrides}
    return connect_body(**config)


def requests_of(ingress, kind: str | None = None) -> list[dict]:
    return ingress.rows(
        "select * from connection_request where connection_id = %s and (%s::text is null or kind = %s) order by id",
        (CONNECTION_ID, kind, kind),
    )


def app_rows(ingress) -> dict[str, int]:
    return {
        "connection": ingress.rows("select count(*) as n from connection")[0]["n"],
        "connection_request": ingress.rows("select count(*) as n from connection_request")[0]["n"],
        "connect_token": ingress.rows("select count(*) as n from connect_token")[0]["n"],
    }


# ---- connect ----

def test_connect_with_platform_credentials_completes_at_once(ingress, cipher):
    answer = ingress.client.post(SITE_PATH, json=platform_body())

    assert answer.status_code == 200
    assert answer.json() == {"connection_id": CONNECTION_ID, "status": "connected", "redirect_url": None}
    with connect(ingress.database_url) as conn:
        stored = get_connection(conn, cipher, CONNECTION_ID)
        raw = conn.execute("select * from connection where id = %s", (CONNECTION_ID,)).fetchone()
    assert stored.status == "connected" and stored.platform == "marketplacer" and stored.store_id == "store-1"
    assert stored.sparklayer_credentials == {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    assert stored.platform_secrets == {"marketplacer_api_key": API_KEY}
    assert stored.platform_config == {"currency": "AUD", "marketplacer_api_url": "https://bobs.marketplacer.test/graphql"}
    for column in ("sparklayer_credentials", "platform_credentials"):
        assert CLIENT_SECRET.encode() not in bytes(raw[column]) and API_KEY.encode() not in bytes(raw[column])
    assert [r["kind"] for r in requests_of(ingress)] == ["connect"]


def test_connect_from_the_dashboard_is_pending_with_a_connect_link(ingress):
    answer = ingress.client.post(SITE_PATH, json=connect_body(currency="NZD"))

    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "pending" and body["connection_id"] == CONNECTION_ID
    page = ingress.anonymous().get(ingress.local_path(body["redirect_url"]))
    assert page.status_code == 200 and "Marketplacer API URL" in page.text and 'value="NZD"' in page.text
    assert ingress.rows("select status from connection")[0]["status"] == "pending"
    assert requests_of(ingress) == []  # nothing for Dagster to do until the merchant completes it
    token = body["redirect_url"].rsplit("/", 1)[1]
    assert token not in json.dumps(ingress.rows("select * from connect_token"), default=str)


def test_repeated_dashboard_connect_replaces_the_link(ingress):
    first = ingress.client.post(SITE_PATH, json=connect_body()).json()["redirect_url"]
    second = ingress.client.post(SITE_PATH, json=connect_body()).json()["redirect_url"]

    assert first != second
    client = ingress.anonymous()
    assert client.get(ingress.local_path(first)).status_code == 404
    assert client.get(ingress.local_path(second)).status_code == 200


def test_connect_is_idempotent_and_updates_changed_credentials(ingress, cipher):
    assert ingress.client.post(SITE_PATH, json=platform_body()).json()["status"] == "connected"
    again = ingress.client.post(SITE_PATH, json=platform_body())

    assert again.status_code == 200 and again.json()["status"] == "connected"
    assert len(requests_of(ingress, "connect")) == 1  # the unprocessed one re-reads the same rows
    assert ingress.rows("select count(*) as n from connection")[0]["n"] == 1

    with connect(ingress.database_url) as conn:  # the sensor took the first one
        conn.execute("update connection_request set processed_at = now(), finished_at = now()")
    changed = ingress.client.post(SITE_PATH, json=platform_body(marketplacer_api_key="new-key", currency="NZD"))

    assert changed.json()["status"] == "connected"
    assert len(requests_of(ingress, "connect")) == 2  # completion runs again
    with connect(ingress.database_url) as conn:
        stored = get_connection(conn, cipher, CONNECTION_ID)
    assert stored.platform_secrets == {"marketplacer_api_key": "new-key"}
    assert stored.platform_config["currency"] == "NZD"


def test_dashboard_connect_of_a_connected_store_keeps_its_platform_credentials(ingress, cipher):
    ingress.client.post(SITE_PATH, json=platform_body())
    with connect(ingress.database_url) as conn:
        conn.execute("update connection_request set processed_at = now(), finished_at = now()")

    answer = ingress.client.post(SITE_PATH, json={**connect_body(), "spark_api_client_secret": "rotated"})

    assert answer.json() == {"connection_id": CONNECTION_ID, "status": "connected", "redirect_url": None}
    with connect(ingress.database_url) as conn:
        stored = get_connection(conn, cipher, CONNECTION_ID)
    assert stored.platform_secrets == {"marketplacer_api_key": API_KEY}
    assert stored.platform_config["marketplacer_api_url"] == "https://bobs.marketplacer.test/graphql"
    assert stored.sparklayer_credentials["client_secret"] == "rotated"
    assert len(requests_of(ingress, "connect")) == 2


BAD_CONNECT_BODIES = {
    "malformed JSON": (b'{"spark_api_client_id": ', None),
    "not an object": (b"[1, 2]", None),
    "empty body": (b"", None),
    "missing client id": (json.dumps({"spark_api_client_secret": "s"}).encode(), "spark_api_client_id"),
    "missing client secret": (json.dumps({"spark_api_client_id": "c"}).encode(), "spark_api_client_secret"),
    "client id not a string": (json.dumps({**connect_body(), "spark_api_client_id": 12}).encode(), "spark_api_client_id"),
    "store id an object": (json.dumps({**connect_body(), "store_id": {"a": 1}}).encode(), "store_id"),
    "extra_config a list": (json.dumps({**connect_body(), "extra_config": [1]}).encode(), "extra_config"),
    "unknown platform": (json.dumps(connect_body(platform="woocommerce")).encode(), "extra_config.platform"),
    "api url not a URL": (json.dumps(platform_body(marketplacer_api_url="bobs-store")).encode(),
                          "extra_config.marketplacer_api_url"),
    "api key a number": (json.dumps(platform_body(marketplacer_api_key=5)).encode(), "extra_config.marketplacer_api_key"),
    "currency not ISO 4217": (json.dumps(platform_body(currency="dollars")).encode(), "extra_config.currency"),
    "credentials without currency": (json.dumps(platform_body(currency=None)).encode(), "extra_config.currency"),
}


@pytest.mark.parametrize("case", list(BAD_CONNECT_BODIES))
def test_bad_connect_bodies_get_a_problem_and_change_nothing(ingress, case):
    raw, prop = BAD_CONNECT_BODIES[case]
    answer = ingress.client.post(SITE_PATH, content=raw, headers={"Content-Type": "application/json"})

    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["status"] == 400 and problem["detail"]
    if prop:
        assert prop in [e["property"] for e in problem["errors"]]
    assert app_rows(ingress) == {"connection": 0, "connection_request": 0, "connect_token": 0}


@pytest.mark.parametrize("path,prop", [("/v1/staging/bobs-store", "siteEnv"), ("/v1/test/bobs%20store", "siteId")])
def test_unknown_site_env_or_bad_site_id_is_refused(ingress, path, prop):
    answer = ingress.client.post(path, json=platform_body())

    assert answer.status_code == 400
    assert [e["property"] for e in answer.json()["errors"]] == [prop]
    assert app_rows(ingress)["connection"] == 0


def test_oversized_body_is_refused_before_it_is_read(ingress):
    body = platform_body(padding="x" * 20_000)
    declared = ingress.client.post(SITE_PATH, json=body)

    def chunks():  # no Content-Length: the limit holds while streaming
        yield json.dumps(body).encode()

    streamed = ingress.client.post(SITE_PATH, content=chunks(), headers={"Content-Type": "application/json"})

    for answer in (declared, streamed):
        assert answer.status_code == 413
        assert "16384 bytes" in answer.json()["detail"]
    assert app_rows(ingress)["connection"] == 0


ENDPOINTS = [
    ("POST", SITE_PATH), ("DELETE", SITE_PATH), ("POST", f"{SITE_PATH}/status/products"),
    ("GET", f"{SITE_PATH}/sync/products"), ("POST", f"{SITE_PATH}/sync/products/1"),
]


@pytest.mark.parametrize("method,path", ENDPOINTS)
@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", "Basic dGVzdDp0ZXN0", "Bearer"])
def test_calls_without_the_ingress_token_get_401(ingress, method, path, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    answer = ingress.anonymous().request(method, path, json=platform_body(), headers=headers)

    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert answer.headers["content-type"] == "application/problem+json"
    assert app_rows(ingress)["connection"] == 0


# ---- remove ----

def test_remove_answers_204_and_queues_the_removal_once(ingress):
    ingress.client.post(SITE_PATH, json=platform_body())

    first = ingress.client.delete(SITE_PATH)
    second = ingress.client.delete(SITE_PATH)

    assert first.status_code == 204 and first.content == b""
    assert second.status_code == 204
    assert ingress.rows("select status from connection")[0]["status"] == "removing"
    assert len(requests_of(ingress, "remove")) == 1


def test_remove_of_an_unknown_connection_is_404(ingress):
    answer = ingress.client.delete(SITE_PATH)

    assert answer.status_code == 404
    assert CONNECTION_ID in answer.json()["detail"]
    assert app_rows(ingress)["connection_request"] == 0


def test_connect_while_a_removal_runs_is_refused(ingress):
    ingress.client.post(SITE_PATH, json=platform_body())
    ingress.client.delete(SITE_PATH)

    answer = ingress.client.post(SITE_PATH, json=platform_body())

    assert answer.status_code == 409
    assert ingress.rows("select status from connection")[0]["status"] == "removing"
    assert len(requests_of(ingress, "connect")) == 1


# ---- trigger ----

def connected(ingress) -> None:
    """A connected store whose completion has finished."""
    ingress.client.post(SITE_PATH, json=platform_body())
    with connect(ingress.database_url) as conn:
        conn.execute("update connection_request set processed_at = now(), finished_at = now()")


def test_trigger_queues_a_sync_and_answers_201(ingress):
    connected(ingress)

    answer = ingress.client.post(f"{SITE_PATH}/status/customers")

    assert answer.status_code == 201
    body = answer.json()
    assert body["connection_id"] == CONNECTION_ID and body["sync_data_type"] == "customers"
    [row] = requests_of(ingress, "trigger")
    assert row["id"] == body["request_id"] and row["sync_data_type"] == "customers" and row["processed_at"] is None


def test_trigger_while_a_sync_is_queued_is_400_until_it_finishes(ingress):
    connected(ingress)
    assert ingress.client.post(f"{SITE_PATH}/status/products").status_code == 201

    refused = ingress.client.post(f"{SITE_PATH}/status/products")
    other_type = ingress.client.post(f"{SITE_PATH}/status/customers")  # the queued full sync covers it too

    assert refused.status_code == 400 and "already queued or running" in refused.json()["detail"]
    assert other_type.status_code == 400
    assert len(requests_of(ingress, "trigger")) == 1

    with connect(ingress.database_url) as conn:
        conn.execute("update connection_request set processed_at = now(), finished_at = now()")
    assert ingress.client.post(f"{SITE_PATH}/status/products").status_code == 201


def test_trigger_while_a_full_sync_runs_elsewhere_is_400(ingress):
    """A full sync started from the UI or the schedule shows only in sync_run."""
    connected(ingress)
    with connect(ingress.database_url) as conn:
        conn.execute("insert into sync_run (connection_id, sync_id, data_type, kind) values (%s, 'run-1', 'products', 'full')",
                     (CONNECTION_ID,))

    assert ingress.client.post(f"{SITE_PATH}/status/products").status_code == 400
    assert ingress.client.post(f"{SITE_PATH}/status/merchant").status_code == 201  # no products sync_run involved

    with connect(ingress.database_url) as conn:
        conn.execute("update connection_request set finished_at = now()")
        conn.execute("update sync_run set finished_at = now(), succeeded = true")
    assert ingress.client.post(f"{SITE_PATH}/status/products").status_code == 201


def test_a_sync_that_never_closed_stops_blocking_after_the_window(ingress):
    connected(ingress)
    with connect(ingress.database_url) as conn:
        conn.execute("insert into sync_run (connection_id, sync_id, data_type, kind, started_at) "
                     "values (%s, 'crashed', 'products', 'full', now() - interval '7 hours')", (CONNECTION_ID,))

    assert ingress.client.post(f"{SITE_PATH}/status/products").status_code == 201


@pytest.mark.parametrize("path,status", [
    (f"{SITE_PATH}/status/orders", 400),              # unknown syncDataType
    ("/v1/live/other-store/status/products", 404),    # unknown connection
])
def test_trigger_bad_input(ingress, path, status):
    connected(ingress)

    answer = ingress.client.post(path)

    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/problem+json"
    assert requests_of(ingress, "trigger") == []


def test_trigger_of_a_pending_or_removing_connection_is_refused(ingress):
    ingress.client.post(SITE_PATH, json=connect_body())
    pending = ingress.client.post(f"{SITE_PATH}/status/products")
    ingress.client.delete(SITE_PATH)
    removing = ingress.client.post(f"{SITE_PATH}/status/products")

    assert pending.status_code == 409 and "connect page" in pending.json()["detail"]
    assert removing.status_code == 404
    assert requests_of(ingress, "trigger") == []
