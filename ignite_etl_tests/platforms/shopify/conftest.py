"""A Shopify sandbox on real HTTP, and an adapter connected to it with time-scaled waits."""

from __future__ import annotations

import pytest

from ignite_etl.platforms.outbound import SANDBOX
from ignite_etl.platforms.shopify import ShopifyPlatform, ShopifySettings
from ignite_etl.sandbox.server import BackgroundServer
from ignite_etl.sandbox.shopify.sandbox import ShopifySandbox

TIME_SCALE = 0.001
SHOP = "sandbox.myshopify.com"


@pytest.fixture
def sandbox():
    sim = ShopifySandbox(domain=SHOP, auto_deliver=False, time_scale=TIME_SCALE)
    yield sim
    sim.close()


@pytest.fixture
def server(sandbox):
    with BackgroundServer(sandbox.asgi) as running:
        yield running


@pytest.fixture
def app(sandbox):
    return {"client_id": sandbox.app.client_id, "client_secret": sandbox.app.client_secret}


@pytest.fixture
def connect(sandbox, server, app):
    """An adapter with a fresh expiring token (or `tokens` given), the app's credentials and `saved` secrets."""
    opened = []

    def make(tokens: dict | None = None, time_scale: float = TIME_SCALE, saved: list | None = None, **options):
        grant = tokens or sandbox.issue_token()
        secrets = {"access_token": grant["access_token"]}
        if grant.get("refresh_token"):
            import time

            secrets.update(refresh_token=grant["refresh_token"],
                           access_token_expires_at=str(int(time.time() + grant["expires_in"])))
        settings = ShopifySettings.parse({"shop": SHOP, "admin_url": server.url, **secrets})
        platform = ShopifyPlatform.from_settings(
            settings, app=options.pop("app", app), outbound=SANDBOX, time_scale=time_scale,
            save_secrets=saved.append if saved is not None else None, **options)
        opened.append(platform)
        return platform

    yield make
    for platform in opened:
        platform.close()
