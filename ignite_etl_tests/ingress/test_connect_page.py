"""The dashboard-initiated flow: a pending connection completed on /connect/{token}, credentials checked
with one real query against the Marketplacer simulator."""

from __future__ import annotations

import pytest

from ignite_etl.sandbox.marketplacer.sandbox import DEFAULT_API_KEY, MarketplacerSandbox
from ignite_etl.sandbox.server import BackgroundServer
from ignite_etl.store.connections import get_connection
from ignite_etl.store.database import connect

from .conftest import CONNECTION_ID, SITE_PATH


@pytest.fixture(scope="module")
def marketplacer():
    sandbox = MarketplacerSandbox(time_scale=0.001, auto_deliver=False)
    sandbox.generate(3, seed=3, broken_rate=0)
    with BackgroundServer(sandbox.app) as server:
        yield sandbox, f"{server.url}/graphql"
    sandbox.close()


def start_pending(ingress) -> str:
    answer = ingress.client.post(SITE_PATH, json={"spark_api_client_id": "c", "spark_api_client_secret": "s",
                                                  "extra_config": {"currency": "AUD"}})
    assert answer.json()["status"] == "pending"
    return ingress.local_path(answer.json()["redirect_url"])


def form(api_url: str, api_key: str = DEFAULT_API_KEY, currency: str = "aud") -> dict:
    return {"marketplacer_api_url": api_url, "marketplacer_api_key": api_key, "currency": currency}


def test_merchant_completes_a_pending_connection(ingress, marketplacer, cipher):
    sandbox, api_url = marketplacer
    path = start_pending(ingress)
    browser = ingress.anonymous()
    queries_before = sandbox.graphql_requests

    shown = browser.get(path)
    done = browser.post(path, data=form(api_url))

    assert shown.status_code == 200 and "<form" in shown.text
    assert done.status_code == 200 and "connected" in done.text
    assert sandbox.graphql_requests == queries_before + 1  # exactly one real query checked the key
    with connect(ingress.database_url) as conn:
        stored = get_connection(conn, cipher, CONNECTION_ID)
        key_column = conn.execute("select platform_credentials from connection").fetchone()["platform_credentials"]
    assert stored.status == "connected"
    assert stored.platform_secrets == {"marketplacer_api_key": DEFAULT_API_KEY}
    assert stored.platform_config["marketplacer_api_url"] == api_url and stored.platform_config["currency"] == "AUD"
    assert DEFAULT_API_KEY.encode() not in bytes(key_column)
    assert [r["kind"] for r in ingress.rows("select kind from connection_request")] == ["connect"]
    # one-time: the link is spent
    assert browser.get(path).status_code == 404
    assert browser.post(path, data=form(api_url)).status_code == 404
    assert len(ingress.rows("select kind from connection_request")) == 1


def test_a_refused_key_shows_the_form_again_and_keeps_the_link(ingress, marketplacer):
    _, api_url = marketplacer
    path = start_pending(ingress)
    browser = ingress.anonymous()

    refused = browser.post(path, data=form(api_url, api_key="not-a-key"))

    assert refused.status_code == 400
    assert "refused the API key" in refused.text and "not-a-key" not in refused.text
    assert ingress.rows("select status from connection")[0]["status"] == "pending"
    assert ingress.rows("select count(*) as n from connection_request")[0]["n"] == 0
    assert browser.post(path, data=form(api_url)).status_code == 200  # the link still works


def test_an_unreachable_store_url_is_reported(ingress):
    path = start_pending(ingress)

    answer = ingress.anonymous().post(path, data=form("http://127.0.0.1:9/graphql"))

    assert answer.status_code == 502 and "could not reach your Marketplacer store" in answer.text
    assert ingress.rows("select status from connection")[0]["status"] == "pending"


@pytest.mark.parametrize("fields,message", [
    (form("bobs-store"), "http(s) URL"),
    (form("https://bobs.test/graphql", api_key=""), "Operator API key"),
    (form("https://bobs.test/graphql", currency="dollars"), "ISO 4217"),
])
def test_bad_form_fields_are_explained_without_a_query(ingress, marketplacer, fields, message):
    sandbox, _ = marketplacer
    path = start_pending(ingress)
    before = sandbox.graphql_requests

    answer = ingress.anonymous().post(path, data=fields)

    assert answer.status_code == 400 and message in answer.text
    assert sandbox.graphql_requests == before
    assert ingress.rows("select status from connection")[0]["status"] == "pending"


def test_unknown_and_expired_links_are_404(ingress, marketplacer):
    _, api_url = marketplacer
    path = start_pending(ingress)
    with connect(ingress.database_url) as conn:
        conn.execute("update connect_token set expires_at = now() - interval '1 second'")
    browser = ingress.anonymous()

    for answer in (browser.get(path), browser.post(path, data=form(api_url)), browser.get("/connect/made-up")):
        assert answer.status_code == 404
        assert answer.headers["content-type"] == "application/problem+json"
    assert ingress.rows("select status from connection")[0]["status"] == "pending"


def test_a_link_of_a_connection_being_removed_is_dead(ingress, marketplacer):
    _, api_url = marketplacer
    path = start_pending(ingress)
    assert ingress.client.delete(SITE_PATH).status_code == 204

    assert ingress.anonymous().post(path, data=form(api_url)).status_code == 404
    assert ingress.rows("select status from connection")[0]["status"] == "removing"
