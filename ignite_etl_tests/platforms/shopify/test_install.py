"""The install's Shopify side: every request and callback must carry Shopify's query-string HMAC, a fresh
timestamp and a myshopify.com shop, and the code (or, after a managed install, the session token) is exchanged
for an expiring offline token."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest

from ignite_etl.platforms import InstallRefused, InvalidConfiguration
from ignite_etl.platforms.shopify.install import ShopifyInstall, query_hmac
from ignite_etl.platforms.shopify.settings import shop_domain

CALLBACK = "https://ignite.example/install/shopify/callback"


@pytest.fixture
def flow(sandbox, server, app):
    sandbox.configure_app(redirect_urls=[CALLBACK])
    return ShopifyInstall({**app, "admin_url": server.url})


def signed(secret: str, **params: str) -> dict[str, str]:
    query = {"shop": "sandbox.myshopify.com", "timestamp": str(int(time.time())), **params}
    return {**query, "hmac": query_hmac(query, secret)}


def test_the_install_request_sends_the_merchant_to_authorise_with_our_state(flow, app):
    start = flow.begin(signed(app["client_secret"], host="abc"), state="nonce-1", callback_url=CALLBACK)

    query = parse_qs(urlsplit(start.authorize_url).query)
    assert start.store_id == "sandbox.myshopify.com"
    assert urlsplit(start.authorize_url).path == "/admin/oauth/authorize"
    assert query["state"] == ["nonce-1"] and query["redirect_uri"] == [CALLBACK]
    assert query["client_id"] == [app["client_id"]]
    assert query["scope"] == ["read_products,read_inventory,write_customers,read_orders"]


@pytest.mark.parametrize(("change", "says"), [
    ({"hmac": "0" * 64}, "not signed by Shopify"),
    ({"shop": "evil.example.com"}, "not signed"),  # the signature covers the shop
])
def test_a_request_that_is_not_shopifys_is_refused(flow, app, change, says):
    query = {**signed(app["client_secret"]), **change}

    with pytest.raises(InstallRefused, match=says):
        flow.begin(query, state="s", callback_url=CALLBACK)


def test_an_old_or_foreign_shop_request_is_refused_even_when_signed(flow, app):
    with pytest.raises(InstallRefused, match="too old"):
        flow.begin(signed(app["client_secret"], timestamp=str(int(time.time()) - 600)), state="s", callback_url=CALLBACK)
    with pytest.raises(InstallRefused, match="myshopify.com"):
        flow.begin(signed(app["client_secret"], shop="bobs.example.com"), state="s", callback_url=CALLBACK)


def test_the_callbacks_code_becomes_an_expiring_token_and_a_spent_code_is_refused(sandbox, server, flow, app):
    import httpx

    start = flow.begin(signed(app["client_secret"]), state="nonce-2", callback_url=CALLBACK)
    approved = httpx.post(f"{server.url}/admin/oauth/authorize", data={
        k: v[0] for k, v in parse_qs(urlsplit(start.authorize_url).query, keep_blank_values=True).items()})
    callback = {k: v[0] for k, v in parse_qs(urlsplit(approved.headers["location"]).query).items()}

    assert flow.verify_callback(callback) == "sandbox.myshopify.com"
    settings = flow.exchange(callback, callback_url=CALLBACK)
    assert settings.shop == "sandbox.myshopify.com" and settings.access_token.startswith("shpat_")
    assert settings.refresh_token and int(settings.access_token_expires_at) > time.time() + 3000
    assert set(settings.secrets()) == {"access_token", "refresh_token", "access_token_expires_at"}
    with pytest.raises(InstallRefused, match="refused the authorisation code"):
        flow.exchange(callback, callback_url=CALLBACK)


def managed_query(sandbox, **token_options) -> dict[str, str]:
    """The query a managed install opens the app URL with: signed, embedded, with a session token."""
    link = sandbox.managed_install_link(session_token=sandbox.session_token(**token_options))
    return {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}


def test_a_managed_install_exchanges_its_session_token_once_checked(sandbox, flow):
    sandbox.configure_app(app_url="https://ignite.example/install/shopify")
    query = managed_query(sandbox)

    proof = flow.managed(query)
    settings = flow.exchange(query, callback_url=CALLBACK)

    assert proof and query["embedded"] == "1"
    assert settings.shop == "sandbox.myshopify.com" and settings.access_token.startswith("shpat_")
    assert settings.refresh_token and int(settings.access_token_expires_at) > time.time() + 3000
    assert flow.begin(signed(sandbox.app.client_secret), state="s", callback_url=CALLBACK)  # the usual way still works
    assert flow.managed(signed(sandbox.app.client_secret)) is None  # no session token: the merchant authorises


@pytest.mark.parametrize(("token_options", "says"), [
    ({"secret": "not-the-client-secret"}, "not signed by Shopify"),
    ({"lifetime": -30}, "expired"),
])
def test_a_session_token_that_is_not_shopifys_or_has_expired_is_refused(sandbox, flow, token_options, says):
    sandbox.configure_app(app_url="https://ignite.example/install/shopify")
    query = managed_query(sandbox, **token_options)

    with pytest.raises(InstallRefused, match=says):
        flow.managed(query)
    with pytest.raises(InstallRefused, match="refused the session token"):
        flow.exchange(query, callback_url=CALLBACK)  # and Shopify would not take it either


def test_a_session_token_for_another_app_is_refused(sandbox, flow):
    sandbox.configure_app(app_url="https://ignite.example/install/shopify")
    query = managed_query(sandbox)
    other = ShopifyInstall({"client_id": "another-app", "client_secret": sandbox.app.client_secret,
                            "admin_url": flow.admin_url})

    with pytest.raises(InstallRefused, match="another app"):
        other.managed(query)


def test_an_app_without_its_credentials_cannot_install():
    with pytest.raises(InvalidConfiguration, match="IGNITE_APP_SHOPIFY_CLIENT_SECRET"):
        ShopifyInstall({"client_id": "x"})


@pytest.mark.parametrize(("typed", "domain"), [
    ("Bobs.MyShopify.com", "bobs.myshopify.com"), ("https://bobs.myshopify.com/", "bobs.myshopify.com"),
    ("bobs.myshopify.com.evil.com", None), ("169.254.169.254", None), ("bobs", None),
])
def test_only_a_myshopify_domain_is_a_shop(typed, domain):
    assert shop_domain(typed) == domain
