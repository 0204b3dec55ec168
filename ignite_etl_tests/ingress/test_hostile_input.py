"""What an attacker or a broken client sends: each answered with the right 4xx problem, nothing written,
and the ingress still healthy afterwards. Runs against the ingress as `ignite-etl ingress` serves it
(the same uvicorn limits), with a header deadline short enough to test."""

from __future__ import annotations

import json
import logging
import socket
import time

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from ignite_etl.ingress.guard import IngressGuard
from ignite_etl.platforms.marketplacer.webhooks import signature
from ignite_etl.sandbox.server import BackgroundServer

from .conftest import CONNECTION_ID, SERVER_LIMITS, SITE_PATH
from .test_webhooks import queue_rows, signed_delivery, store  # noqa: F401 - fixture

CONNECT_BODY = {"spark_api_client_id": "c", "spark_api_client_secret": "s", "extra_config": {"currency": "AUD"}}


def assert_problem(answer: httpx.Response, status: int, words: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["status"] == status and words in answer.json()["detail"]


def nothing_written(ingress) -> bool:
    return ingress.rows("select (select count(*) from connection) + (select count(*) from connection_request) "
                        "+ (select count(*) from change_queue) as n")[0]["n"] == 0


@pytest.mark.parametrize("site_id", ["abc%0A", "abc%0a", "a...b", "a%00b", "-abc", "x" * 101, "%C2%B2"])
def test_a_site_id_dagster_could_not_take_as_a_partition_key_is_refused(ingress, site_id):
    answer = ingress.client.post(f"/v1/test/{site_id}", json=CONNECT_BODY)

    assert answer.status_code == 400 and answer.headers["content-type"] == "application/problem+json"
    assert nothing_written(ingress)


@pytest.mark.parametrize("site_id", ["abc", "a.b", "a..b", "A_b-9", "x" * 100])
def test_every_site_id_we_accept_is_a_partition_key_dagster_accepts(ingress, site_id):
    import dagster as dg

    assert ingress.client.post(f"/v1/test/{site_id}", json=CONNECT_BODY).status_code == 200
    dg.StaticPartitionsDefinition([f"test-{site_id}"])  # raises for a key Dagster forbids


def test_json_nested_past_the_limit_is_a_400_not_a_crash(ingress):
    deep = '{"extra_config": ' + "[" * 8000 + "]" * 8000 + "}"

    answer = ingress.client.post(SITE_PATH, content=deep, headers={"Content-Type": "application/json"})

    assert_problem(answer, 400, "nests deeper")
    assert nothing_written(ingress)


@pytest.mark.parametrize("body", [
    {**CONNECT_BODY, "store_id": "bobs\x00store"},
    {**CONNECT_BODY, "extra_config": {"currency": "AUD", "marketplacer_api_url": "https://x.test/\x00"}},
    {**CONNECT_BODY, "extra_config": {"currency": "AUD", "a\x00key": 1}},
])
def test_a_nul_character_anywhere_in_a_body_is_a_400(ingress, body):
    assert_problem(ingress.client.post(SITE_PATH, json=body), 400, "NUL")
    assert nothing_written(ingress)


@pytest.mark.parametrize("path", [f"{SITE_PATH}%00", f"/webhooks/marketplacer/{CONNECTION_ID}%00",
                                  "/connect/abc%00def", f"/v1/test/bobs-store/sync/products?page=1%00"])
def test_a_control_character_in_the_url_is_a_400(ingress, path):
    assert_problem(ingress.client.post(path, json=CONNECT_BODY), 400, "control character")
    assert nothing_written(ingress)


@pytest.mark.parametrize("page", ["²", "١", "-1", "1e3", "99999999999999999999"])
def test_a_page_that_is_not_a_next_page_value_is_a_400(ingress, page):
    ingress.client.post(SITE_PATH, json=CONNECT_BODY)

    answer = ingress.client.get(f"{SITE_PATH}/sync/products", params={"page": page})

    assert_problem(answer, 400, "next_page")


@pytest.mark.parametrize("content_type,content", [
    ("text/plain", json.dumps(CONNECT_BODY)),
    ("application/x-www-form-urlencoded", "spark_api_client_id=c&spark_api_client_secret=s"),
    (None, json.dumps(CONNECT_BODY)),
])
def test_a_body_not_sent_as_json_is_a_415(ingress, content_type, content):
    headers = {"Content-Type": content_type} if content_type else {}
    answer = ingress.client.post(SITE_PATH, content=content, headers=headers)  # no Content-Type unless given

    assert_problem(answer, 415, "application/json")
    assert nothing_written(ingress)


def test_a_trailing_slash_is_a_404_never_a_redirect_built_from_the_host_header(ingress):
    answer = ingress.client.post(SITE_PATH + "/", json=CONNECT_BODY, headers={"Host": "evil.example"})

    assert answer.status_code == 404 and "location" not in answer.headers
    assert nothing_written(ingress)


def test_a_signed_body_that_is_not_json_is_a_400_that_says_so(store, ingress, database_url):  # noqa: F811
    _sandbox, key = store
    body = b"this is not json"

    answer = httpx.post(f"{ingress.url}/webhooks/marketplacer/{CONNECTION_ID}", content=body,
                        headers={"Content-Type": "application/json", "Marketplacer-Hmac-256": signature(body, key)})

    assert_problem(answer, 400, "not a Marketplacer webhook event")
    assert queue_rows(database_url) == []


@pytest.mark.parametrize("node_id", ["QWR2ZXJ0LTE=\x00", "x" * 300, "line\nbreak"])
def test_a_signed_delivery_naming_an_unreadable_id_is_a_400(store, ingress, database_url, node_id):  # noqa: F811
    _sandbox, key = store
    body, headers = signed_delivery(key, {"__typename": "Advert", "id": node_id})

    answer = httpx.post(f"{ingress.url}/webhooks/marketplacer/{CONNECTION_ID}", content=body, headers=headers)

    assert_problem(answer, 400, "not a readable identifier")
    assert queue_rows(database_url) == []


def test_a_huge_sequence_number_is_kept_out_and_the_delivery_queued(store, ingress, database_url):  # noqa: F811
    _sandbox, key = store
    body, headers = signed_delivery(key, {"__typename": "Advert", "id": "QWR2ZXJ0LTE="})

    answer = httpx.post(f"{ingress.url}/webhooks/marketplacer/{CONNECTION_ID}", content=body,
                        headers={**headers, "Marketplacer-Sequence": "1" + "0" * 30})

    assert answer.status_code == 202
    assert [(r["entity_id"], r["sequence"]) for r in queue_rows(database_url)] == [("QWR2ZXJ0LTE=", None)]


def test_a_captured_delivery_replayed_under_new_headers_is_queued_once(store, ingress, database_url):  # noqa: F811
    _sandbox, key = store
    body, headers = signed_delivery(key, {"__typename": "Advert", "id": "QWR2ZXJ0LTE="})
    url = f"{ingress.url}/webhooks/marketplacer/{CONNECTION_ID}"

    answers = [httpx.post(url, content=body, headers={**headers, "Idempotency-Key": f"replay-{n}",
                                                      "Marketplacer-Sequence": str(n)}) for n in range(5)]

    assert [a.status_code for a in answers] == [202, 200, 200, 200, 200]
    assert len(queue_rows(database_url)) == 1


def test_headers_past_the_limit_are_refused_and_memory_is_not_spent(ingress):
    with socket.create_connection(("127.0.0.1", httpx.URL(ingress.url).port), timeout=5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
        sent = 0
        try:
            while sent < 8 * 1024 * 1024:
                sock.sendall(b"a" * 65536)
                sent += 65536
        except OSError:
            pass  # the server closed the connection under us
        answer = sock.recv(1024)

    assert sent < 8 * 1024 * 1024 or answer.startswith(b"HTTP/1.1 400")
    assert answer == b"" or answer.startswith(b"HTTP/1.1 400")
    assert httpx.get(f"{ingress.url}/healthz").status_code == 200


def test_a_slow_header_connection_is_closed_at_the_header_deadline(ingress):
    with socket.create_connection(("127.0.0.1", httpx.URL(ingress.url).port), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        started = time.monotonic()
        closed = sock.recv(1024)
        waited = time.monotonic() - started

    assert closed == b""
    assert waited < SERVER_LIMITS.header_timeout_seconds + 5  # closed by the deadline, not by our timeout


def test_a_slow_body_is_answered_408(ingress):
    with socket.create_connection(("127.0.0.1", httpx.URL(ingress.url).port), timeout=10) as sock:
        sock.sendall(f"POST {SITE_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     "Content-Length: 100\r\nAuthorization: Bearer test-ingress-token-0123456789\r\n\r\n{".encode())
        answer = sock.recv(4096)

    assert answer.startswith(b"HTTP/1.1 408")
    assert nothing_written(ingress)


def test_an_unexpected_error_is_a_500_problem_logged_by_type_only(caplog):
    async def fails(request):
        raise ValueError("user input 'bobs secret' and a database snippet")

    app = Starlette(routes=[Route("/x", fails)], middleware=[Middleware(IngressGuard)])
    with caplog.at_level(logging.DEBUG), BackgroundServer(app) as server:
        answer = httpx.get(f"{server.url}/x")

    assert_problem(answer, 500, "not recorded")
    assert "ValueError" in caplog.text
    assert "bobs secret" not in caplog.text and "Traceback" not in caplog.text


def test_an_aborted_upload_is_one_quiet_line_and_writes_nothing(ingress, caplog):
    with caplog.at_level(logging.INFO):
        with socket.create_connection(("127.0.0.1", httpx.URL(ingress.url).port), timeout=5) as sock:
            sock.sendall(f"POST {SITE_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         "Content-Length: 5000\r\nAuthorization: Bearer test-ingress-token-0123456789\r\n\r\n{\"a\": ".encode())
        time.sleep(0.5)  # the ingress notices the client gone

    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "Traceback" not in caplog.text
    assert nothing_written(ingress)
    assert httpx.get(f"{ingress.url}/healthz").status_code == 200
