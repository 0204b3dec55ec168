"""`MarketplacerPlatform`: the platform interface over the Operator API client and the mapping."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any

from ignite_etl.model import CataloguePage, Customer, Order, StockLocation, StoreSettings
from ignite_etl.platforms.base import (
    InvalidConfiguration,
    InvalidCredentials,
    Platform,
    WebhookRegistration,
)
from ignite_etl.platforms.marketplacer import queries
from ignite_etl.platforms.marketplacer.client import MarketplacerClient, MarketplacerMutationError
from ignite_etl.platforms.marketplacer.mapping import (
    STOCK_LOCATION,
    MappedAdverts,
    advert_fields,
    is_sparklayer_order,
    map_advert,
    map_order,
)
from ignite_etl.platforms.marketplacer.settings import MarketplacerSettings
from ignite_etl.platforms.marketplacer.webhooks import new_hmac_key
from ignite_etl.platforms.paging import read_rest

log = logging.getLogger(__name__)

NODES_PER_REQUEST = 100


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()


class MarketplacerPlatform(Platform):
    name = "marketplacer"

    def __init__(self, client: MarketplacerClient, currency: str, *, page_size: int = queries.DEFAULT_PAGE_SIZE):
        self.client = client
        self.currency = currency
        self.page_size = page_size

    @classmethod
    def from_settings(cls, settings: MarketplacerSettings, *, page_size: int | None = None,
                      **client_options: Any) -> MarketplacerPlatform:
        """The adapter of a connection whose settings are complete; refuse one that is not."""
        if not settings.marketplacer_api_url:
            raise InvalidConfiguration(
                "The connection has no Marketplacer API URL: set extra_config.marketplacer_api_url to the "
                "instance's /graphql URL"
            )
        if not settings.marketplacer_api_key:
            raise InvalidCredentials(
                "The connection has no Marketplacer API key: create an Operator API key in Marketplacer and reconnect"
            )
        if not settings.currency:
            raise InvalidConfiguration(
                "Marketplacer does not report a base currency: set extra_config.currency to the store's "
                "ISO 4217 code, e.g. AUD"
            )
        client = MarketplacerClient(settings.marketplacer_api_url, settings.marketplacer_api_key, **client_options)
        return cls(client, settings.currency, page_size=page_size or queries.DEFAULT_PAGE_SIZE)

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
            yield self._page([node for node in nodes if node])

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
        page = self._page(list(adverts.values()))
        return page.model_copy(update={"missing_ids": tuple(missing)})

    # ---- nested connections, read to their last page ----

    def _read_rest(self, connection: dict, fetch: Callable[[str], dict | None], what: str) -> None:
        read_rest(connection, fetch, what, "Marketplacer")

    def _connection_after(self, query: str, node_id: str, first: int, name: str, after: str) -> dict | None:
        """The page after `after` of connection `name` of `node(id:)` (an unpublished advert's is under its
        `details`); None when the node is gone."""
        found = self.client.execute(query, {"id": node_id, "first": first, "after": after})["node"]
        return None if found is None else (found.get("details") or found).get(name)

    def _read_variants_whole(self, node: dict) -> None:
        advert = advert_fields(node)
        if advert is None:
            return
        variants = advert.setdefault("variants", {})
        self._read_rest(variants, partial(self._connection_after, queries.ADVERT_VARIANTS, node["id"],
                                          queries.VARIANTS_PER_PAGE, "variants"),
                        f"the variants of advert {node['id']}")
        for variant in variants.get("nodes") or []:
            if variant and (variant.get("variantOptionValues") or {}).get("pageInfo", {}).get("hasNextPage"):
                self._read_rest(variant["variantOptionValues"], partial(
                    self._connection_after, queries.VARIANT_OPTION_VALUES, variant["id"],
                    queries.OPTION_VALUES_PER_PAGE, "variantOptionValues"), f"the options of variant {variant['id']}")

    def _read_invoices_whole(self, order: dict) -> None:
        self._read_rest(order.setdefault("invoices", {}), partial(
            self._connection_after, queries.ORDER_INVOICES, order["id"], queries.INVOICES_PER_PAGE, "invoices"),
            f"the invoices of order {order['id']}")

    def _page(self, nodes: list[dict]) -> CataloguePage:
        mapped = MappedAdverts()
        for node in nodes:
            self._read_variants_whole(node)
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
                    self._read_invoices_whole(order)
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

    def stock_locations(self) -> list[StockLocation]:
        return [STOCK_LOCATION]

    def register_webhooks(self, url: str, previous: WebhookRegistration | None = None) -> WebhookRegistration:
        """One webhook per object type we sync, signed with a new key. Marketplacer has no delete: the
        webhooks of an earlier registration (another key, API key or URL) are disabled through
        `webhookUpdate`, so nothing keeps calling us with a key we no longer hold."""
        fingerprint = self.client.fingerprint()
        state = dict(previous.state) if previous else {}
        if previous and state.get("url") == url and state.get("fingerprint") == fingerprint and state.get("ids"):
            return previous
        key = new_hmac_key()
        ids = []
        for webhook_type in queries.WEBHOOK_TYPES:
            created = self.client.mutate(queries.WEBHOOK_CREATE, {"input": {"attributes": {
                "url": url, "type": webhook_type, "hmacKey": key, "queryString": queries.WEBHOOK_QUERY,
                "enabled": True,
            }}}, "webhookCreate")
            ids.append(created["webhook"]["id"])
        stale = set(state.get("ids") or []) | {w["id"] for w in self._webhooks() if w.get("url") == url and w.get("enabled")}
        retired, kept = [], []
        for webhook_id in sorted(stale - set(ids)):
            try:
                self.client.mutate(queries.WEBHOOK_UPDATE, {"input": {"webhookId": webhook_id,
                                                                      "attributes": {"enabled": False}}}, "webhookUpdate")
                retired.append(webhook_id)
            except MarketplacerMutationError as exc:  # e.g. registered on another instance, which this key cannot see
                log.warning("could not disable Marketplacer webhook %s: %s", webhook_id, exc)
                kept.append(webhook_id)
        return WebhookRegistration(key, {"url": url, "fingerprint": fingerprint, "ids": ids,
                                         "api_url": self.client.api_url, "retired": retired, "not_retired": kept})

    def _webhooks(self) -> Iterator[dict]:
        """Every webhook the instance has (the connection may be null when the key may not list them)."""
        after = None
        while True:
            page = self.client.execute(queries.WEBHOOKS, {"first": queries.WEBHOOKS_PER_PAGE, "after": after})["webhooks"]
            if not page:
                return
            yield from (node for node in page.get("nodes") or [] if node)
            info = page.get("pageInfo") or {}
            if not info.get("hasNextPage") or not info.get("endCursor"):
                return
            after = info["endCursor"]

