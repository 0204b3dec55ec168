"""Shopify end to end on real parts: the SparkLayer app installed from the Shopify simulator → our install
link → Shopify's authorisation → our callback → the registration page → SparkLayer's Dashboard API → its
connect call → completion (webhook subscriptions) and a full sync through bulk operations → a product edit, a stock change and a
currency change, each reaching SparkLayer through its signed webhook and a partial sync → the uninstall
webhook removes everything."""

from __future__ import annotations

import pytest

from ignite_etl.defs.partial.jobs import partial_sync
from ignite_etl.defs.partial.resources import ChangeQueuePolicy
from ignite_etl.platforms.shopify import queries
from ignite_etl.sandbox.server import BackgroundServer
from ignite_etl.sandbox.shopify.sandbox import ShopifySandbox
from ignite_etl.sandbox.sparklayer.sandbox import SparkLayerSandbox
from ignite_etl.store.cipher import CredentialCipher
from ignite_etl.store.connections import get_connection
from ignite_etl.store.database import connect
from ignite_etl.store.removal import rows_left

from .conftest import DeferredApp, InstallStack, running_stack
from .test_end_to_end import settle
from .test_install import MERCHANT, Merchant

SHOP = "bobs-kettles.myshopify.com"
SITE = ("live", "bob-s-kettles")
CONNECTION_ID = "live-bob-s-kettles"


@pytest.fixture
def shopify_stack(database_url, secret_key, monkeypatch):
    shop = ShopifySandbox(domain=SHOP, auto_deliver=False, time_scale=0.001)
    shop.add_product("Kettle", [{"sku": "K-1", "price": "20.00", "stock": 5, "options": [("Colour", "Red")]},
                                {"sku": "K-2", "price": "22.00", "stock": 0, "options": [("Colour", "Blue")]}])
    shop.add_product("Teapot", [{"sku": "T-1", "price": "35.50", "stock": 9,
                                 "metafields": {"pack_size": ("number_integer", "2")}}])
    admin = DeferredApp()
    admin.app = shop.asgi
    sparklayer = SparkLayerSandbox()
    with BackgroundServer(admin) as admin_server:
        app = {"client_id": shop.app.client_id, "client_secret": shop.app.client_secret,
               "admin_url": admin_server.url, "bulk_from": "1"}  # the full sync reads in bulk, however small
        for key, value in app.items():  # the run workers read the app's credentials from the environment
            monkeypatch.setenv(f"IGNITE_APP_SHOPIFY_{key.upper()}", value)
        try:
            with running_stack(database_url, secret_key, sparklayer, platform_apps={"shopify": app}) as stack:
                shop.configure_app(app_url=f"{stack.ingress_url}/install/shopify",
                                   redirect_urls=[f"{stack.ingress_url}/install/shopify/callback"],
                                   compliance_url=f"{stack.ingress_url}/webhooks/shopify/privacy")
                yield InstallStack(stack, admin_server.url, sparklayer), shop
        finally:
            shop.close()


def partial(env: InstallStack) -> None:
    lifecycle = env.lifecycle
    resources = {**lifecycle.definitions.resources, "change_queue_policy": ChangeQueuePolicy(linger_seconds=0)}
    assert partial_sync.execute_in_process(instance=lifecycle.instance, resources=resources,
                                           partition_key=CONNECTION_ID).success


def writes(env: InstallStack, since: int) -> list[dict]:
    return env.sparklayer.journal(env=SITE[0], site_id=SITE[1])[since:]


def stored_secrets(env: InstallStack, secret_key: str) -> dict[str, str]:
    with connect(env.lifecycle.database_url) as conn:
        return get_connection(conn, CredentialCipher(secret_key), CONNECTION_ID).platform_secrets


def test_install_sync_webhooks_and_uninstall(shopify_stack, secret_key):
    env, shop = shopify_stack
    merchant = Merchant()

    # install: the app listing's button opens our install link, signed; Shopify asks the merchant
    authorize = merchant.get(f"{env.admin_url}/_sandbox/install")
    assert f"Install SparkLayer on {SHOP}?" in authorize.text
    registration = merchant.submit(authorize)
    assert "SparkLayer is installed on your Shopify store" in registration.text
    (installed,) = env.rows("select * from installation")
    assert (installed["platform"], installed["store_id"]) == ("shopify", SHOP)
    assert installed["platform_config"] == {"shop": SHOP, "admin_url": env.admin_url}
    assert b"shpat_" not in bytes(installed["platform_credentials"])  # the token is stored encrypted

    merchant.submit(registration, **MERCHANT)
    env.sparklayer.dashboard.wait_for_connect_calls()
    settle(env.lifecycle)
    assert [(r.job_def.name, r.success) for r in env.lifecycle.launched] == [("complete_connection", True),
                                                                             ("full_sync", True)]
    site = env.sparklayer.state(*SITE)
    assert {p["title"] for p in site["products"].values()} == {"Kettle", "Teapot"}
    assert site["price_lists"]["shopify-price"]["name"] == "Shopify Price"
    assert {s["sku"]: s["stock_level"] for s in site["stock"]} == {"K-1": 5, "K-2": 0, "T-1": 9}
    assert [op.status for op in shop.bulk_operations.values()] == ["COMPLETED", "COMPLETED"]
    assert {s.topic for s in shop.subscriptions.values()} == set(queries.WEBHOOK_TOPICS)
    hook = f"{env.stack.ingress_url}/webhooks/shopify/{CONNECTION_ID}"
    assert {s.callback_url for s in shop.subscriptions.values()} == {hook}

    # a product edit: one webhook, one partial sync, only that product written; Shopify has meanwhile
    # expired the access token early, so the sync refreshes it and stores the new tokens
    installed_tokens = stored_secrets(env, secret_key)
    shop.expire_tokens()
    kettle, teapot = list(shop.shop.products)
    before = len(env.sparklayer.journal(env=SITE[0], site_id=SITE[1]))
    shop.update_product(kettle, title="Kettle, copper")
    shop.deliver_webhooks()
    partial(env)
    site = env.sparklayer.state(*SITE)
    assert site["products"][str(kettle)]["title"] == "Kettle, copper"
    written = [(w.method, w.path) for w in writes(env, before) if w.method != "GET"]
    assert written and all(str(teapot) not in path for _, path in written)
    refreshed = stored_secrets(env, secret_key)
    assert refreshed["access_token"] != installed_tokens["access_token"]
    assert refreshed["refresh_token"] != installed_tokens["refresh_token"]

    # a stock change: the inventory level webhook names the item, whose product is read
    t1 = shop.shop.products[teapot].variant_ids[0]
    shop.set_stock(t1, 3)
    shop.deliver_webhooks()
    partial(env)
    assert {s["sku"]: s["stock_level"] for s in env.sparklayer.state(*SITE)["stock"]}["T-1"] == 3

    # a currency change: shop/update sets the site's base currency again; SparkLayer's API cannot change the
    # price list's currency, so the merchant is told to, and the error clears once the list agrees
    shop.set_currency("NZD")
    shop.deliver_webhooks()
    partial(env)
    site = env.sparklayer.state(*SITE)
    assert site["settings"]["baseCurrency"] == "NZD"
    assert site["price_lists"]["shopify-price"]["currency_code"] == "AUD"
    error = site["sync_logs"]["shopify/products"]["errors"]["price_list:shopify-price"]
    assert "is in AUD in SparkLayer" in error["message"] and "to NZD in the SparkLayer Dashboard" in error["resolution"]
    env.sparklayer.edit_price_list(*SITE, "shopify-price", currency_code="NZD")
    assert env.stack.ingress.post(f"/v1/{SITE[0]}/{SITE[1]}/status/merchant").status_code == 201
    settle(env.lifecycle)
    assert "price_list:shopify-price" not in env.sparklayer.state(*SITE)["sync_logs"]["shopify/products"]["errors"]

    # every delivery was answered 2xx, and none twice made a change
    assert all(200 <= d.status < 300 for d in shop.webhooks.deliveries if d.status is not None)
    with connect(env.lifecycle.database_url) as conn:
        queued = [r["entity_type"] for r in conn.execute("select entity_type from change_queue order by id")]
    assert queued == ["product", "stock", "settings"]

    # uninstall: Shopify's app/uninstalled starts the same removal as SparkLayer's DELETE
    shop.uninstall()
    shop.deliver_webhooks()
    settle(env.lifecycle)
    assert env.lifecycle.launched[-1].job_def.name == "remove_connection" and env.lifecycle.launched[-1].success
    assert env.sparklayer.state(*SITE)["sync_logs"] == {}
    with connect(env.lifecycle.database_url) as conn:
        assert rows_left(conn, CONNECTION_ID) == {}

    # 48 hours later Shopify asks us to forget the shop: its installation (and revoked token) goes
    shop.send_privacy_webhook("shop/redact")
    shop.deliver_webhooks()
    assert shop.webhooks.deliveries[-1].status == 200
    assert env.rows("select * from installation") == []
    assert [r["kind"] for r in env.rows("select kind from privacy_request")] == ["store_redact"]


def test_a_managed_install_goes_straight_to_registration_and_its_link_works_once(shopify_stack, secret_key):
    """Shopify installs the app itself and opens it in the admin with a session token: no authorisation page;
    the token is exchanged for the shop's tokens and the merchant registers as after the usual install."""
    env, shop = shopify_stack
    merchant = Merchant()

    link = shop.managed_install_link()
    registration = merchant.get(link)

    assert "SparkLayer is installed on your Shopify store" in registration.text
    assert not any("/admin/oauth/authorize" in url for url in merchant.visited)
    (installed,) = env.rows("select * from installation")
    assert (installed["platform"], installed["store_id"]) == ("shopify", SHOP)
    assert b"shpat_" not in bytes(installed["platform_credentials"])

    again = Merchant().get(link)  # the same link, replayed
    assert again.status_code == 400 and "This install link has been used" in again.text
    forged = Merchant().get(shop.managed_install_link(session_token=shop.session_token(secret="forged")))
    assert forged.status_code == 400 and "not signed by Shopify" in forged.text

    merchant.submit(registration, **MERCHANT)
    env.sparklayer.dashboard.wait_for_connect_calls()
    settle(env.lifecycle)
    assert [(r.job_def.name, r.success) for r in env.lifecycle.launched] == [("complete_connection", True),
                                                                             ("full_sync", True)]
    assert {p["title"] for p in env.sparklayer.state(*SITE)["products"].values()} == {"Kettle", "Teapot"}
