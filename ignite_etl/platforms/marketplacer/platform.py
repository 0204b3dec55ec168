"""`MarketplacerPlatform`: the platform interface over the Operator API client and the mapping."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from ignite_etl.model import CataloguePage, Customer, Order, StoreSettings, WebhookEvent
from ignite_etl.platforms.base import InvalidConfiguration, InvalidCredentials, Platform
from ignite_etl.platforms.marketplacer import queries
from ignite_etl.platforms.marketplacer.client import MarketplacerClient
from ignite_etl.platforms.marketplacer.mapping import MappedAdverts, is_sparklayer_order, map_advert, map_order
from ignite_etl.platforms.marketplacer.webhooks import new_hmac_key, verify_webhook

NODES_PER_REQUEST = 100
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.isoformat()


class MarketplacerPlatform(Platform):
    name = "marketplacer"

    def __init__(self, client: MarketplacerClient, currency: str, *, page_size: int = queries.DEFAULT_PAGE_SIZE):
        self.client = client
        self.currency = currency
        self.page_size = page_size

    @classmethod
    def from_config(cls, config: Mapping[str, Any], secrets: Mapping[str, str], *, page_size: int | None = None,
                    **client_options: Any) -> "MarketplacerPlatform":
        """Build from a connection's extra_config and decrypted secrets; refuse an incomplete one."""
        api_url = (config.get("marketplacer_api_url") or "").strip()
        if not api_url.startswith(("http://", "https://")):
            raise InvalidConfiguration(
                "The connection has no Marketplacer API URL: set extra_config.marketplacer_api_url to the "
                "instance's /graphql URL"
            )
        api_key = secrets.get("marketplacer_api_key") or config.get("marketplacer_api_key")
        if not api_key:
            raise InvalidCredentials(
                "The connection has no Marketplacer API key: create an Operator API key in Marketplacer and reconnect"
            )
        currency = str(config.get("currency") or "").strip().upper()
        if not _CURRENCY.match(currency):
            raise InvalidConfiguration(
                "Marketplacer does not report a base currency: set extra_config.currency to the store's "
                "ISO 4217 code, e.g. AUD"
            )
        client = MarketplacerClient(api_url, api_key, **client_options)
        return cls(client, currency, page_size=page_size or queries.DEFAULT_PAGE_SIZE)

    def __repr__(self) -> str:
        return f"MarketplacerPlatform(api_url={self.client.api_url!r}, currency={self.currency!r})"

    def close(self) -> None:
        self.client.close()

    def check_credentials(self) -> None:
        self.client.execute(queries.CHECK_CREDENTIALS)

    def iter_catalogue(self, updated_since: datetime | None = None, *, page_size: int | None = None
                       ) -> Iterator[CataloguePage]:
        pages = self.client.paginate(
            queries.ALL_ADVERTS, {"updatedSince": _iso(updated_since)}, "allAdverts", page_size or self.page_size
        )
        for nodes in pages:
            yield self._page(node for node in nodes if node)

    def fetch_products(self, ids: Sequence[str]) -> CataloguePage:
        """Accepts advert and variant ids; a variant id brings its whole advert."""
        adverts: dict[str, dict] = {}
        missing: list[str] = []
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), NODES_PER_REQUEST):
            batch = unique[start:start + NODES_PER_REQUEST]
            nodes = self.client.execute(queries.ADVERT_NODES, {"ids": batch})["nodes"]
            for requested, node in zip(batch, nodes):
                advert = (node or {}).get("advert") if (node or {}).get("__typename") == "Variant" else node
                if advert and advert.get("__typename") in ("Advert", "UnpublishedAdvert", "DeletedAdvert"):
                    adverts.setdefault(advert["id"], advert)
                else:
                    missing.append(requested)
        page = self._page(adverts.values())
        return page.model_copy(update={"missing_ids": tuple(missing)})

    def _page(self, nodes) -> CataloguePage:
        mapped = MappedAdverts()
        for node in nodes:
            map_advert(node, self.currency, mapped)
        return CataloguePage(
            products=tuple(mapped.products),
            stock_levels=tuple(mapped.stock_levels),
            prices=tuple(mapped.prices),
            problems=tuple(mapped.problems),
        )

    def iter_orders(self, updated_since: datetime | None = None) -> Iterator[Order]:
        seen: set[str] = set()
        pages = self.client.paginate(
            queries.INVOICE_ORDERS, {"updatedSince": _iso(updated_since)}, "invoices", self.page_size
        )
        for invoices in pages:
            wanted = []
            for invoice in invoices:
                order = invoice.get("order") or {}
                if order.get("id") and order["id"] not in seen and is_sparklayer_order(order):
                    seen.add(order["id"])
                    wanted.append(order["id"])
            yield from self.fetch_orders(wanted)

    def fetch_orders(self, ids: Sequence[str]) -> list[Order]:
        """Orders by order or invoice id; orders without a SparkLayer cart id are left out."""
        orders: dict[str, Order] = {}
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), NODES_PER_REQUEST):
            nodes = self.client.execute(queries.ORDER_NODES, {"ids": unique[start:start + NODES_PER_REQUEST]})["nodes"]
            for node in nodes:
                order = (node or {}).get("order") if (node or {}).get("__typename") == "Invoice" else node
                if order and order.get("id") and order["id"] not in orders and is_sparklayer_order(order):
                    orders[order["id"]] = map_order(order, self.currency)
        return list(orders.values())

    def iter_customers(self, updated_since: datetime | None = None) -> Iterator[Customer]:
        """The buyers of SparkLayer orders (the Operator API has no customer list), each email once."""
        seen: set[str] = set()
        for order in self.iter_orders(updated_since):
            if order.customer and order.customer.external_id not in seen:
                seen.add(order.customer.external_id)
                yield order.customer

    def store_settings(self) -> StoreSettings:
        return StoreSettings(base_currency=self.currency)

    def register_webhooks(self, url: str) -> str:
        key = new_hmac_key()
        for webhook_type in queries.WEBHOOK_TYPES:
            self.client.mutate(queries.WEBHOOK_CREATE, {"input": {"attributes": {
                "url": url, "type": webhook_type, "hmacKey": key, "queryString": queries.WEBHOOK_QUERY,
                "enabled": True,
            }}}, "webhookCreate")
        return key

    @staticmethod
    def verify_webhook(headers: Mapping[str, str], raw_body: bytes, key: str) -> WebhookEvent:
        return verify_webhook(headers, raw_body, key)
