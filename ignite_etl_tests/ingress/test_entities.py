"""List and fetch entities, served from the platform asset tables the last full sync wrote; /healthz."""

from __future__ import annotations

import httpx
import pandas as pd
import pytest

from ignite_etl.ingress.app import create_app
from ignite_etl.sandbox.server import BackgroundServer
from ignite_etl.store.database import connect
from ignite_etl.store.frames import FrameStore

from .conftest import CONNECTION_ID, INGRESS_TOKEN, SITE_PATH, ingress_config

OTHER = "live-someone-else"


def extracted(database_url: str, products: int = 5) -> None:
    """What a full sync's platform assets leave behind, for our store and another one."""
    store = FrameStore(database_url)
    for connection_id, prefix in ((CONNECTION_ID, "p"), (OTHER, "x")):
        store.write_slice("platform", "platform_products", connection_id, pd.DataFrame(
            {"external_id": [f"{prefix}{i}" for i in range(products)], "title": [f"Product {i}" for i in range(products)],
             "status": "live"}))
        store.write_slice("platform", "platform_variants", connection_id, pd.DataFrame(
            {"external_id": [f"{prefix}{i}-v{j}" for i in range(products) for j in range(2)],
             "product_external_id": [f"{prefix}{i}" for i in range(products) for _ in range(2)],
             "sku": [f"SKU-{prefix}{i}-{j}" for i in range(products) for j in range(2)]}))
        store.write_slice("platform", "platform_stock", connection_id, pd.DataFrame(
            {"sku": ["SKU-p0-0", "SKU-p0-0", "SKU-p1-0"], "location_external_id": ["a", "b", "a"],
             "stock_level": [3, 4, 5]}))
        store.write_slice("platform", "platform_customers", connection_id, pd.DataFrame(
            {"external_id": ["ada@example.com"], "email": ["ada@example.com"], "first_name": ["Ada"]}))


@pytest.fixture
def small_pages(database_url, secret_key):
    with connect(database_url) as conn:
        conn.execute("insert into connection (id, site_env, site_id, platform, status) "
                     "values (%s, 'test', 'bobs-store', 'marketplacer', 'connected')", (CONNECTION_ID,))
    app = create_app(ingress_config(database_url, secret_key, page_size=2))
    with BackgroundServer(app) as server, httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {INGRESS_TOKEN}"}, timeout=30
    ) as client:
        yield client


def test_products_page_through_the_last_extract_with_their_variants(database_url, small_pages):
    extracted(database_url, products=5)

    seen, page, pages = [], None, 0
    while True:
        answer = small_pages.get(f"{SITE_PATH}/sync/products", params={"page": page} if page else {})
        assert answer.status_code == 200
        body = answer.json()
        seen += body["data"]
        pages += 1
        page = body["next_page"]
        if not page:
            break

    assert pages == 3
    assert [p["external_id"] for p in seen] == [f"p{i}" for i in range(5)]
    assert [v["sku"] for v in seen[1]["variants"]] == ["SKU-p1-0", "SKU-p1-1"]
    assert "connection_id" not in seen[0] and "_row" not in seen[0]


def test_fetch_one_entity_of_each_kind(database_url, small_pages):
    extracted(database_url)

    product = small_pages.post(f"{SITE_PATH}/sync/products/p3", json={"payload": None})
    customer = small_pages.post(f"{SITE_PATH}/sync/customers/ada@example.com")
    stock = small_pages.post(f"{SITE_PATH}/sync/stock/SKU-p0-0")
    other_store = small_pages.post(f"{SITE_PATH}/sync/products/x1")

    assert product.status_code == 200
    assert product.json()["data"]["title"] == "Product 3" and len(product.json()["data"]["variants"]) == 2
    assert customer.json()["data"]["first_name"] == "Ada"
    assert sorted(l["stock_level"] for l in stock.json()["data"]["locations"]) == [3, 4]
    assert other_store.status_code == 404  # never another connection's rows


def test_before_any_extract_lists_are_empty(small_pages):
    for data_type in ("products", "customers", "stock", "purchases"):
        answer = small_pages.get(f"{SITE_PATH}/sync/{data_type}")
        assert answer.json() == {"data": [], "next_page": None}
    assert small_pages.post(f"{SITE_PATH}/sync/products/p1").status_code == 404


@pytest.mark.parametrize("method,path,body,status,prop", [
    ("GET", f"{SITE_PATH}/sync/orders", None, 400, "syncDataType"),
    ("GET", f"{SITE_PATH}/sync/products?page=abc", None, 400, "page"),
    ("GET", f"{SITE_PATH}/sync/products?page=-5", None, 400, "page"),
    ("POST", f"{SITE_PATH}/sync/products/p1", {"payload": 5}, 400, "payload"),
    ("POST", f"{SITE_PATH}/sync/products/p1", [1], 400, None),
    ("GET", "/v1/live/unknown-store/sync/products", None, 404, None),
    ("GET", "/v1/qa/bobs-store/sync/products", None, 400, "siteEnv"),
])
def test_bad_entity_requests_get_a_problem(database_url, small_pages, method, path, body, status, prop):
    extracted(database_url)

    answer = small_pages.request(method, path, json=body)

    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/problem+json"
    if prop:
        assert [e["property"] for e in answer.json()["errors"]] == [prop]


def test_healthz_says_whether_the_database_answers(ingress, secret_key):
    assert ingress.anonymous().get("/healthz").json() == {"status": "ok", "database": "ok"}

    app = create_app(ingress_config("postgresql://nobody@127.0.0.1:9/none", secret_key))
    with BackgroundServer(app) as server:
        answer = httpx.get(f"{server.url}/healthz", timeout=30)
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
