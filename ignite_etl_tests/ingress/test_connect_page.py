"""The dashboard-initiated flow: a pending connection completed on /connect/{token}, credentials checked
with one real query against the Marketplacer simulator."""

from __future__ import annotations

import time

import pytest

from ignite_etl.ingress.connect_page import MAX_CHECKS_PER_LINK
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


@pytest.mark.parametrize("url", ["https://169.254.169.254/graphql", "https://2852039166/graphql",
                                 "https://10.1.2.3/graphql", "https://[::ffff:169.254.169.254]/graphql"])
def test_the_connect_page_never_calls_a_private_or_link_local_address(ingress, loopback_only, url):
    path = start_pending(ingress)

    answer = ingress.anonymous().post(path, data=form(url, api_key="the-merchants-key"))

    assert answer.status_code == 400 and "public internet address" in answer.text
    assert loopback_only.refused == []
    assert ingress.rows("select status, platform_credentials from connection") == [
        {"status": "pending", "platform_credentials": None}]


def test_a_link_allows_a_few_checks_then_is_used_up(ingress, marketplacer):
    _, api_url = marketplacer
    path = start_pending(ingress)
    browser = ingress.anonymous()

    answers = [browser.post(path, data=form(api_url, api_key=f"wrong-{n}")) for n in range(MAX_CHECKS_PER_LINK + 2)]

    assert [a.status_code for a in answers] == [400] * MAX_CHECKS_PER_LINK + [429, 429]
    assert "Start the connection again" in answers[-1].text
    assert ingress.rows("select attempts from connect_token") == [{"attempts": MAX_CHECKS_PER_LINK}]
    assert browser.post(path, data=form(api_url)).status_code == 429  # even with the right key
    assert ingress.rows("select status from connection")[0]["status"] == "pending"


def test_a_link_is_held_while_its_check_runs(ingress, marketplacer):
    _, api_url = marketplacer
    path = start_pending(ingress)
    with connect(ingress.database_url) as conn:  # a check of this link is running elsewhere
        conn.execute("update connect_token set checking_until = now() + interval '1 minute'")

    answer = ingress.anonymous().post(path, data=form(api_url))

    assert answer.status_code == 409 and "being checked" in answer.text
    assert ingress.rows("select status from connection")[0]["status"] == "pending"


def test_a_link_stops_working_once_sparklayer_completes_the_connection(ingress, marketplacer):
    _, api_url = marketplacer
    path = start_pending(ingress)
    completed = ingress.client.post(SITE_PATH, json={
        "spark_api_client_id": "c", "spark_api_client_secret": "s",
        "extra_config": {"marketplacer_api_url": api_url, "marketplacer_api_key": DEFAULT_API_KEY, "currency": "AUD"}})
    assert completed.json()["status"] == "connected"
    browser = ingress.anonymous()

    shown = browser.get(path)
    overwrite = browser.post(path, data=form("https://attacker.example/graphql", api_key="theirs", currency="USD"))

    assert shown.status_code == 404 and overwrite.status_code == 404
    assert ingress.rows("select count(*) as n from connect_token")[0]["n"] == 0
    row = ingress.rows("select platform_config from connection")[0]
    assert row["platform_config"]["marketplacer_api_url"] == api_url and row["platform_config"]["currency"] == "AUD"


def test_a_control_character_in_a_field_is_explained_and_stores_nothing(ingress, marketplacer):
    sandbox, api_url = marketplacer
    path = start_pending(ingress)
    before = sandbox.graphql_requests

    answer = ingress.anonymous().post(path, data=form(api_url + "\x00", api_key="k\x00"))

    assert answer.status_code == 400 and "control character" in answer.text
    assert sandbox.graphql_requests == before
    assert ingress.rows("select status from connection")[0]["status"] == "pending"


def test_slow_stores_cannot_take_every_thread_of_the_ingress(database_url, secret_key):
    import asyncio
    import threading

    import httpx

    from ignite_etl.ingress.app import create_app

    from .conftest import INGRESS_TOKEN, RunningIngress, ingress_config

    release = threading.Event()

    async def slow_store(scope, receive, send):  # answers only once the test lets it
        if scope["type"] != "http":
            return
        await asyncio.get_running_loop().run_in_executor(None, release.wait, 10)
        await send({"type": "http.response.start", "status": 401, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    app = create_app(ingress_config(database_url, secret_key, max_platform_calls=1))
    with BackgroundServer(slow_store) as store, BackgroundServer(app) as server, \
            httpx.Client(base_url=server.url, timeout=30, headers={"Authorization": f"Bearer {INGRESS_TOKEN}"}) as client:
        ingress = RunningIngress(server.url, database_url, client)
        first = start_pending(ingress)
        with connect(database_url) as conn:  # a second site, with its own link
            conn.execute("update connection set id = 'test-other', site_id = 'other'")
            conn.execute("update connect_token set connection_id = 'test-other'")
        second = start_pending(ingress)
        results = {}
        checking = threading.Thread(target=lambda: results.setdefault(
            "first", ingress.anonymous().post(first, data=form(f"{store.url}/graphql"))))
        checking.start()
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not ingress.rows(
                    "select 1 from connect_token where checking_until is not null"):
                time.sleep(0.05)
            refused = ingress.anonymous().post(second, data=form(f"{store.url}/graphql"))
        finally:
            release.set()
            checking.join()

    assert refused.status_code == 503 and "try again in a minute" in refused.text
    assert results["first"].status_code == 400  # its check ran: the store refused the key


def test_a_call_that_names_no_platform_lets_the_merchant_choose_one(ingress, marketplacer, cipher):
    _, api_url = marketplacer
    answer = ingress.client.post(SITE_PATH, json={"spark_api_client_id": "c", "spark_api_client_secret": "s"})
    assert answer.json()["status"] == "pending"
    path = ingress.local_path(answer.json()["redirect_url"])
    browser = ingress.anonymous()

    chooser = browser.get(path)
    chosen = browser.get(path, params={"platform": "marketplacer"})
    unknown = browser.get(path, params={"platform": "nowhere"})
    done = browser.post(path, data={"platform": "marketplacer", **form(api_url)})

    assert 'href="?platform=marketplacer"' in chooser.text and 'href="?platform=shopify"' in chooser.text
    assert "Marketplacer API URL" in chosen.text and 'name="platform" value="marketplacer"' in chosen.text
    assert unknown.status_code == 400
    assert done.status_code == 200 and "connected" in done.text
    with connect(ingress.database_url) as conn:
        stored = get_connection(conn, cipher, CONNECTION_ID)
    assert (stored.platform, stored.status) == ("marketplacer", "connected")


def test_customer_calls_for_a_connection_without_a_platform_yet_are_409(ingress):
    ingress.client.post(SITE_PATH, json={"spark_api_client_id": "c", "spark_api_client_secret": "s"})

    answer = ingress.client.post(f"{SITE_PATH}/authentication/verify", json={"token": "t"})

    assert answer.status_code == 409 and "not complete yet" in answer.json()["detail"]
