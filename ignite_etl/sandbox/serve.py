"""`ignite-etl sandbox`: the simulators on loopback, with a demo SparkLayer site and a generated Marketplacer store,
and a generated Shopify shop with the SparkLayer app ready to install (its demo site is made by the install)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin

import httpx

from ignite_etl.sandbox import MARKETPLACER_PORT, SPARKLAYER_PORT
from ignite_etl.sandbox.marketplacer.sandbox import DEFAULT_API_KEY, MarketplacerSandbox
from ignite_etl.sandbox.server import BackgroundServer
from ignite_etl.sandbox.shopify.sandbox import ShopifySandbox
from ignite_etl.sandbox.sparklayer.sandbox import SparkLayerSandbox
from ignite_etl.settings import APP_PREFIX

DEMO_SITE_ENV, DEMO_SITE_ID = "test", "demo-store"
DEMO_CLIENT_ID, DEMO_CLIENT_SECRET = "demo-client", "demo-secret"
DEMO_SHOP = "demo-kettles.myshopify.com"
DEMO_SHOPIFY_APP = {"client_id": "demo-shopify-app", "client_secret": "demo-shopify-app-secret"}
"""The SparkLayer app's credentials on the simulated Shopify: `make dev` gives them to the ingress and the
workers as IGNITE_APP_SHOPIFY_CLIENT_ID / _CLIENT_SECRET (with _ADMIN_URL pointing at the simulator)."""
DEMO_MERCHANT = {"name": "Demo Merchant", "email": "merchant@demo-kettles.test", "company": "Demo Kettles",
                 "password": "demo password 1"}


def demo_apps_environment(shopify_port: int) -> dict[str, str]:
    """IGNITE_APP_* for the simulated app stores' apps (the Shopify shop's admin served on `shopify_port`)."""
    app = {**DEMO_SHOPIFY_APP, "admin_url": f"http://127.0.0.1:{shopify_port}"}
    return {f"{APP_PREFIX}SHOPIFY_{key.upper()}": value for key, value in app.items()}


@dataclass
class Sandbox:
    sparklayer: SparkLayerSandbox
    marketplacer: MarketplacerSandbox
    sparklayer_server: BackgroundServer
    marketplacer_server: BackgroundServer
    shopify: ShopifySandbox | None = None
    shopify_server: BackgroundServer | None = None

    @property
    def sparklayer_api_url(self) -> str:
        """What SPARKLAYER_API_URL should be to talk to this sandbox."""
        return self.sparklayer_server.url + "/{site_env}"

    @property
    def marketplacer_api_url(self) -> str:
        return self.marketplacer_server.url + "/graphql"

    def stop(self) -> None:
        if self.shopify_server and self.shopify:
            self.shopify_server.stop()
            self.shopify.close()
        self.marketplacer_server.stop()
        self.sparklayer_server.stop()
        self.marketplacer.close()


def start_sandbox(
    *, adverts: int = 200, seed: int = 1, broken_rate: float = 0.01, sparklayer_port: int = SPARKLAYER_PORT,
    marketplacer_port: int = MARKETPLACER_PORT, latency_ms: float = 0.0, shopify_port: int | None = None,
) -> Sandbox:
    sparklayer = SparkLayerSandbox()
    sparklayer.add_site(DEMO_SITE_ENV, DEMO_SITE_ID, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
    if latency_ms:
        sparklayer.set_faults(latency_seconds=latency_ms / 1000)
    marketplacer = MarketplacerSandbox()
    marketplacer.generate(adverts, seed=seed, broken_rate=broken_rate)
    sl_server = BackgroundServer(sparklayer.app, port=sparklayer_port).start()
    mp_server = BackgroundServer(marketplacer.app, port=marketplacer_port).start()
    sandbox = Sandbox(sparklayer, marketplacer, sl_server, mp_server)
    if shopify_port is not None:
        sandbox.shopify = ShopifySandbox(domain=DEMO_SHOP)
        sandbox.shopify.configure_app(**DEMO_SHOPIFY_APP)
        sandbox.shopify.generate(adverts, seed=seed, broken_rate=broken_rate)
        seed_demo_shop(sandbox.shopify)
        sandbox.shopify_server = BackgroundServer(sandbox.shopify.asgi, port=shopify_port).start()
    return sandbox


def seed_demo_shop(shop: ShopifySandbox) -> None:
    """What makes the demo shop a B2B shop: a catalog price list, B2B customers (one on that list), a company
    whose two contacts buy at a location the catalog is published to, a retail customer who is not synced, and
    orders placed through SparkLayer's checkout (one partly shipped) and one that was not. The orders reach
    SparkLayer with the first orders pass after the install."""
    trade = shop.add_catalog("Trade customers", decrease_percent=15)  # a B2B catalog's price list
    address = {"address1": "1 Analytical Way", "city": "Sydney", "province_code": "NSW", "zip": "2000",
               "country_code": "AU"}
    ada = shop.add_customer("ada@engines.example", first_name="Ada", last_name="Lovelace", tags=["b2b"],
                            addresses=[{**address, "company": "Analytical Engines"}], metafields={
                                "company_name": ("single_line_text_field", "Analytical Engines"),
                                "price_lists": ("json", f'["shopify-price-list-{trade}"]')})
    grace = shop.add_customer("grace@cobol.example", first_name="Grace", last_name="Hopper", tags=["b2b"],
                              tax_exempt=True, addresses=[{**address, "address1": "2 Compiler Road"}])
    jean = shop.add_customer("jean@cobol.example", first_name="Jean", last_name="Sammet")
    shop.add_company("Cobol & Co", external_id="COBOL", locations=[
        {"name": "Head office", "external_id": "COBOL-HQ", "catalogs": [shop.catalog_of(trade)],
         "billing_address": {**address, "address1": "2 Compiler Road"}}],
        contacts=[{"customer_id": grace, "title": "Director", "main": True}, {"customer_id": jean, "title": "Buyer"}])
    carol = shop.add_customer("carol@retail.example", first_name="Carol", last_name="Retail", tags=["newsletter"])
    variants = [v for v in shop.shop.variants.values() if v.sku][:3]
    order, lines = shop.add_order(ada, [{"variant_id": v.id, "quantity": n + 1, "properties": [("Charged Price", v.price)]}
                                        for n, v in enumerate(variants[:2])],
                                  attributes=[("sparkCartId", "demo-cart-1"), ("sparkPaymentType", "paymentOnAccount")],
                                  shipping_address=address, shipping_title="Standard freight")
    shop.fulfill(order, {lines[1]: 1}, company="AusPost", number="AP0000001")
    shop.add_order(carol, [{"variant_id": variants[2].id, "quantity": 1}])  # a web order: not SparkLayer's


def describe(sandbox: Sandbox, adverts: int) -> str:
    return "\n".join(
        [
            f"SparkLayer sandbox   {sandbox.sparklayer_server.url}  (state and journal under /_sandbox/)",
            f"  demo site: env={DEMO_SITE_ENV} site_id={DEMO_SITE_ID} client_id={DEMO_CLIENT_ID} "
            f"client_secret={DEMO_CLIENT_SECRET}",
            f"  point ignite-etl at it with SPARKLAYER_API_URL={sandbox.sparklayer_api_url}",
            f"Marketplacer sandbox {sandbox.marketplacer_api_url}  ({adverts} generated adverts; changes under /_sandbox/)",
            f"  extra_config: marketplacer_api_url={sandbox.marketplacer_api_url} "
            f"marketplacer_api_key={DEFAULT_API_KEY} currency=AUD",
            *([f"Shopify sandbox      {sandbox.shopify_server.url}  (shop {DEMO_SHOP}, {adverts} generated products; "
               f"install the app at {sandbox.shopify_server.url}/_sandbox/install)"]
              if sandbox.shopify_server else []),
        ]
    )


def demo_connect_body(sandbox: Sandbox) -> dict:
    """SparkLayer's new-platform-connection call for the demo site, with the store's credentials in
    extra_config (the platform-initiated flow), so the connection completes without the connect page."""
    return {
        "store_id": "demo",
        "spark_api_client_id": DEMO_CLIENT_ID,
        "spark_api_client_secret": DEMO_CLIENT_SECRET,
        "extra_config": {
            "platform": "marketplacer",
            "marketplacer_api_url": sandbox.marketplacer_api_url,
            "marketplacer_api_key": DEFAULT_API_KEY,
            "currency": "AUD",
        },
    }


def connect_demo_store(sandbox: Sandbox, ingress_url: str, token: str, *, wait_seconds: float = 120.0) -> str:
    """Call the ingress as SparkLayer would once it answers; the answer's connection status."""
    deadline = time.monotonic() + wait_seconds
    with httpx.Client(base_url=ingress_url, timeout=10) as client:
        while True:
            try:
                if client.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"the ingress at {ingress_url} did not answer in {wait_seconds:.0f}s")
            time.sleep(0.5)
        answer = client.post(f"/v1/{DEMO_SITE_ENV}/{DEMO_SITE_ID}", json=demo_connect_body(sandbox),
                             headers={"Authorization": f"Bearer {token}"})
        answer.raise_for_status()
        return answer.json().get("status", "?")


def install_demo_shop(sandbox: Sandbox, ingress_url: str, *, wait_seconds: float = 120.0) -> str:
    """The merchant's side of the app-store flow, on the demo shop: the Install button, Shopify's approval,
    our callback and the registration page (SparkLayer's simulated dashboard then connects the new site).
    Returns the URL of the onboarding page the merchant ends on."""
    assert sandbox.shopify is not None and sandbox.shopify_server is not None
    sandbox.shopify.configure_app(app_url=f"{ingress_url}/install/shopify",
                                  redirect_urls=[f"{ingress_url}/install/shopify/callback"],
                                  compliance_url=f"{ingress_url}/webhooks/shopify/privacy")
    _wait_for(ingress_url, wait_seconds)
    with httpx.Client(timeout=30, follow_redirects=True) as merchant:
        authorize = merchant.get(f"{sandbox.shopify_server.url}/_sandbox/install")
        authorize.raise_for_status()
        action, fields = _form(authorize)
        registration = merchant.post(action, data=fields)
        registration.raise_for_status()
        action, fields = _form(registration)
        onboarding = merchant.post(action, data={**fields, **DEMO_MERCHANT})
        onboarding.raise_for_status()
        return str(onboarding.url)


def _wait_for(ingress_url: str, wait_seconds: float) -> None:
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            if httpx.get(f"{ingress_url}/healthz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"the ingress at {ingress_url} did not answer in {wait_seconds:.0f}s")
        time.sleep(0.5)


class _FormReader(HTMLParser):
    def __init__(self):
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        named = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = named.get("action") or ""
        elif tag == "input" and named.get("name"):
            self.fields[named["name"] or ""] = named.get("value") or ""


def _form(page: httpx.Response) -> tuple[str, dict[str, str]]:
    """The first form of a page: where it posts and its inputs' values (as a browser without JavaScript)."""
    reader = _FormReader()
    reader.feed(page.text)
    if reader.action is None:
        raise RuntimeError(f"{page.url} shows no form: {page.text[:200]!r}")
    return urljoin(str(page.url), reader.action or str(page.url)), reader.fields


def serve_forever(sandbox: Sandbox) -> None:
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
