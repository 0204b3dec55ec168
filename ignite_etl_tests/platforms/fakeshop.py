"""FakeShop: a minimal platform that exists only in the tests, registered as a third platform would be.

Its stores live in this process (`STORES`); its webhooks are JSON bodies signed with `X-Fake-Signature`
(hex HMAC-SHA256 of the body). Nothing in `ignite_etl` knows it: the tests that register it show that a
platform is its package and one registry line."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from pydantic import Field, field_validator

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
    InvalidCredentials,
    InvalidSession,
    Platform,
    PlatformError,
    PlatformSpec,
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
    has_customers=True,
)
