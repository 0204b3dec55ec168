"""FakeShop: a minimal platform that exists only in the tests, registered as a third platform would be.

Its stores live in this process (`STORES`); its webhooks are JSON bodies signed with `X-Fake-Signature`
(hex HMAC-SHA256 of the body). It has an app store: `admin_app` serves its admin (the app listing's
Install button, the authorisation page, the token exchange), and `FakeShopInstall` is its side of the
install, signing and checking query strings with the app's secret as app stores do. Nothing in
`ignite_etl` knows it: the tests that register it show that a platform is its package and one registry
line."""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import parse_qs, urlencode

import httpx
from pydantic import Field, field_validator
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ignite_etl.model import (
    CataloguePage,
    Customer,
    CustomerRequest,
    Order,
    Price,
    Product,
    StockLevel,
    StockLocation,
    StoreSettings,
    Variant,
    WebhookEvent,
)
from ignite_etl.platforms import (
    ConnectSettings,
    FormField,
    InstallFlow,
    InstallRefused,
    InstallStart,
    InvalidConfiguration,
    InvalidCredentials,
    InvalidSession,
    Platform,
    PlatformError,
    PlatformSpec,
    PlatformUnavailable,
    SettingProblem,
    WebhookRegistration,
    WebhookRejected,
)

NAME = "fakeshop"
LOCATION = StockLocation(external_id="fake-main", name="FakeShop main warehouse")
GOOD_KEY = "good-key"


@dataclass
class FakeItem:
    sku: str
    price: str
    stock: int


@dataclass
class FakeStore:
    products: dict[str, tuple[str, list[FakeItem]]] = field(default_factory=dict)  # id -> (title, items)
    webhooks: list[tuple[str, str]] = field(default_factory=list)  # (url, key) registered
    currency: str = "NZD"
    customers: dict[str, dict] = field(default_factory=dict)  # id -> fields, as SparkLayer sent them
    sessions: dict[str, str] = field(default_factory=dict)  # storefront session token -> customer id


STORES: dict[str, FakeStore] = {}


class FakeShopSettings(ConnectSettings):
    required = ("fake_store", "fake_api_key", "currency")
    secret = frozenset({"fake_api_key"})

    fake_store: str | None = None
    fake_api_key: str | None = Field(default=None, repr=False)
    currency: str | None = None

    @field_validator("fake_store")
    @classmethod
    def _known(cls, value: str | None) -> str | None:
        if value is not None and value not in STORES:
            raise SettingProblem(f"there is no FakeShop store called {value!r}")
        return value


class FakeShopInstall(InstallFlow):
    """App credentials: `client_id`, `client_secret` and `admin_url` (where FakeShop's admin is served)."""

    def __init__(self, app: Mapping[str, str], **_options):
        missing = [key for key in ("client_id", "client_secret", "admin_url") if not app.get(key)]
        if missing:
            raise InvalidConfiguration(f"set IGNITE_APP_FAKESHOP_{missing[0].upper()}")
        self.client_id, self.client_secret, self.admin_url = app["client_id"], app["client_secret"], app["admin_url"]

    def _verified_store(self, query: Mapping[str, str]) -> str:
        if not hmac.compare_digest(query.get("hmac", ""), sign_query(query, self.client_secret)):
            raise InstallRefused("the request is not signed by FakeShop")
        store = query.get("store", "")
        if store not in STORES:
            raise InstallRefused(f"FakeShop has no store {store!r}")
        return store

    def begin(self, query: Mapping[str, str], *, state: str, callback_url: str) -> InstallStart:
        store = self._verified_store(query)
        target = urlencode({"client_id": self.client_id, "store": store, "state": state, "redirect_uri": callback_url})
        return InstallStart(store, f"{self.admin_url}/oauth/authorize?{target}")

    def verify_callback(self, query: Mapping[str, str]) -> str:
        return self._verified_store(query)

    def exchange(self, query: Mapping[str, str], *, callback_url: str) -> FakeShopSettings:
        answer = httpx.post(f"{self.admin_url}/oauth/token", json={
            "client_id": self.client_id, "client_secret": self.client_secret, "code": query.get("code", "")})
        if answer.status_code == 400:
            raise InstallRefused("FakeShop refused the authorisation code")
        if answer.status_code != 200:
            raise PlatformUnavailable(f"FakeShop answered {answer.status_code}")
        token = answer.json()
        return FakeShopSettings(fake_store=query["store"], fake_api_key=token["access_token"], currency=token["currency"])


class FakeShopPlatform(Platform):
    name = NAME

    def __init__(self, settings: FakeShopSettings, **_options):
        self.store = STORES[settings.fake_store or ""]
        self.key = settings.fake_api_key
        self.currency = settings.currency or "NZD"

    def check_credentials(self) -> None:
        if self.key != GOOD_KEY:
            raise InvalidCredentials("FakeShop refused the API key")

    def _page(self, ids: Sequence[str]) -> CataloguePage:
        products, stock, prices = [], [], []
        for pid in ids:
            title, items = self.store.products[pid]
            variants = tuple(Variant(external_id=f"{pid}-{n}", product_external_id=pid, sku=item.sku, position=n + 1)
                             for n, item in enumerate(items))
            products.append(Product(external_id=pid, title=title, slug=pid, variants=variants))
            stock += [StockLevel(sku=i.sku, location_external_id=LOCATION.external_id, stock_level=i.stock) for i in items]
            prices += [Price(sku=i.sku, price_list_slug=f"{NAME}-price", price=Decimal(i.price), currency=self.currency)
                       for i in items]
        return CataloguePage(products=tuple(products), stock_levels=tuple(stock), prices=tuple(prices))

    def iter_catalogue(self, updated_since=None, *, page_size=None) -> Iterator[CataloguePage]:
        yield self._page(sorted(self.store.products))

    def fetch_products(self, ids: Sequence[str]) -> CataloguePage:
        known = [i for i in ids if i in self.store.products]
        return self._page(known).model_copy(update={"missing_ids": tuple(i for i in ids if i not in known)})

    def iter_orders(self, updated_since=None) -> Iterator[Order]:
        return iter(())

    def fetch_orders(self, ids: Sequence[str]) -> list[Order]:
        return []

    def iter_customers(self, updated_since=None) -> Iterator[Customer]:
        return iter(())

    def upsert_customer(self, customer: CustomerRequest) -> str:
        self.check_credentials()
        if customer.email.endswith("@blocked.test"):
            raise PlatformError("FakeShop does not accept customers of blocked.test")
        existing = next((cid for cid, c in self.store.customers.items() if c["email"] == customer.email), None)
        customer_id = existing or f"c{len(self.store.customers) + 1}"
        self.store.customers[customer_id] = customer.model_dump(mode="json")
        return customer_id

    def verify_customer_session(self, token: str) -> str:
        self.check_credentials()
        try:
            return self.store.sessions[token]
        except KeyError:
            raise InvalidSession("FakeShop knows no such session") from None

    def store_settings(self) -> StoreSettings:
        return StoreSettings(base_currency=self.currency)

    def stock_locations(self) -> list[StockLocation]:
        return [LOCATION]

    def register_webhooks(self, url: str, previous: WebhookRegistration | None = None) -> WebhookRegistration:
        if previous and previous.state.get("url") == url:
            return previous
        key = secrets.token_hex(16)
        self.store.webhooks.append((url, key))
        return WebhookRegistration(key, {"url": url})


def sign_query(query: Mapping[str, str], secret: str) -> str:
    message = urlencode(sorted((k, v) for k, v in query.items() if k != "hmac"))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def signed(query: dict[str, str], secret: str) -> dict[str, str]:
    return {**query, "hmac": sign_query(query, secret)}


def admin_app(client_id: str, client_secret: str, ignite_url: str) -> Starlette:
    """FakeShop's admin: `/apps/sparklayer/install?store=` is the app listing's Install button (it opens
    Ignite's install link, signed); `/oauth/authorize` asks the merchant to approve the app and sends them
    back with a one-time code; `/oauth/token` exchanges the code for the store's API key."""
    codes: dict[str, str] = {}  # code -> store

    async def install_button(request: Request) -> Response:
        query = signed({"store": request.query_params["store"], "timestamp": "1700000000"}, client_secret)
        return RedirectResponse(f"{ignite_url}/install/{NAME}?{urlencode(query)}", status_code=302)

    async def authorize_page(request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != client_id:
            return HTMLResponse("<h1>Unknown app</h1>", status_code=400)
        hidden = "".join(f'<input type="hidden" name="{k}" value="{html.escape(q.get(k, ""))}">'
                         for k in ("store", "state", "redirect_uri"))
        return HTMLResponse(f"<!doctype html><title>FakeShop</title><h1>Install SparkLayer on {html.escape(q['store'])}?"
                            f'</h1><form method="post" action="/oauth/authorize">{hidden}'
                            '<button type="submit">Install app</button></form>')

    async def approve(request: Request) -> Response:
        form = {k: v[-1] for k, v in parse_qs((await request.body()).decode()).items()}
        code = secrets.token_hex(8)
        codes[code] = str(form["store"])
        query = signed({"code": code, "store": str(form["store"]), "state": str(form["state"]),
                        "timestamp": "1700000001"}, client_secret)
        return RedirectResponse(f"{form['redirect_uri']}?{urlencode(query)}", status_code=302)

    async def token(request: Request) -> Response:
        body = await request.json()
        if (body.get("client_id"), body.get("client_secret")) != (client_id, client_secret):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        store = codes.pop(body.get("code", ""), None)
        if store is None:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        return JSONResponse({"access_token": GOOD_KEY, "currency": STORES[store].currency})

    return Starlette(routes=[
        Route("/apps/sparklayer/install", install_button),
        Route("/oauth/authorize", authorize_page, methods=["GET"]),
        Route("/oauth/authorize", approve, methods=["POST"]),
        Route("/oauth/token", token, methods=["POST"]),
    ])


def sign(body: bytes, key: str) -> str:
    return hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


def verify(headers: Mapping[str, str], raw_body: bytes, key: str) -> WebhookEvent:
    given = {k.lower(): v for k, v in headers.items()}.get("x-fake-signature", "")
    if not hmac.compare_digest(given, sign(raw_body, key)):
        raise WebhookRejected("The delivery's X-Fake-Signature does not match")
    body = json.loads(raw_body)
    return WebhookEvent(object_type=body["type"], platform_type=body["type"], object_id=body["id"],
                        event_name="update", idempotency_key=body["event"])


SPEC = PlatformSpec(
    name=NAME,
    display_name="FakeShop",
    settings=FakeShopSettings,
    form_fields=(FormField("fake_store", "Store name"), FormField("fake_api_key", "API key", secret=True),
                 FormField("currency", "Currency")),
    connect_help="Your FakeShop store name and API key are in its admin.",
    build=FakeShopPlatform,
    verify_webhook=verify,
    install=FakeShopInstall,
    has_customers=True,
)
