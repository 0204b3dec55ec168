"""`ShopifyPlatform`: the platform interface over the Admin API client and the mapping.

Products are read with their variants, each variant with its stock per location and its `sparklayer`
metafields; a nested connection with more pages is read to its end before the product is mapped. Ids are
Shopify's numeric ids; a stock webhook names an inventory item (`inventory_item:<id>`), whose product is read.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import parse_qs

from ignite_etl.model import (
    CataloguePage,
    Customer,
    CustomerRequest,
    Order,
    PriceList,
    StockLocation,
    StoreSettings,
)
from ignite_etl.platforms.base import (
    InvalidConfiguration,
    InvalidCredentials,
    InvalidSession,
    Platform,
    WebhookRegistration,
)
from ignite_etl.platforms.limits import SharedRateLimits, scope_name
from ignite_etl.platforms.paging import read_rest
from ignite_etl.platforms.shopify import queries
from ignite_etl.platforms.shopify.bulk import BulkRead
from ignite_etl.platforms.shopify.client import ShopifyClient, ShopifyUserError, Tokens, TokenSource
from ignite_etl.platforms.shopify.install import MAX_CLOCK_SKEW_SECONDS, app_proxy_signature
from ignite_etl.platforms.shopify.mapping import (
    B2B_TAG,
    MappedProducts,
    customer_metafields,
    gid,
    is_sparklayer_order,
    legacy_id,
    map_catalog_price_list,
    map_customer,
    map_list_prices,
    map_location,
    map_order,
    map_product,
    nodes_of,
)
from ignite_etl.platforms.shopify.settings import ShopifySettings
from ignite_etl.platforms.shopify.webhooks import B2B_OBJECT

log = logging.getLogger(__name__)

BULK_PAGE_SIZE = 200
"""Products per catalogue page read back from a bulk operation's staged result."""
INVENTORY_ITEM = "inventory_item:"
"""The prefix of the ids stock webhooks name: an inventory item, not a product."""


def _search_since(moment: datetime | None) -> str | None:
    """Shopify's search for products updated at or after `moment` (inclusive: its times are whole seconds)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return f"updated_at:>='{moment.astimezone(UTC).replace(microsecond=0).isoformat().replace('+00:00', 'Z')}'"


class ShopifyPlatform(Platform):
    name = "shopify"

    def __init__(self, client: ShopifyClient, shop: str, *, app: Mapping[str, str] | None = None,
                 bulk_from: int = queries.BULK_FROM_PRODUCTS, clock: Callable[[], float] = time.time):
        self.client = client
        self._clock = clock
        self.shop = shop
        self.app = dict(app or {})
        self.bulk_from = bulk_from
        self._currency: str | None = None
        self._catalogs: list[tuple[PriceList, str]] | None = None

    @classmethod
    def from_settings(cls, settings: ShopifySettings, *, app: Mapping[str, str] | None = None,
                      save_secrets: Callable[[dict[str, str]], None] | None = None, page_size: int | None = None,
                      rate_limits: SharedRateLimits | None = None, bulk_from: int = queries.BULK_FROM_PRODUCTS,
                      **client_options: Any) -> ShopifyPlatform:
        """The adapter of a connection whose settings are complete. `app` is the app's credentials (to refresh
        expiring tokens and to sign webhooks); `save_secrets` stores refreshed tokens with the connection.
        Shopify meters cost per app and shop: `rate_limits` holds that bucket for every worker of a sync (a
        lone call paces by the bucket Shopify reports). `page_size` is not used: pages are sized by cost
        (`queries`)."""
        if not settings.shop:
            raise InvalidConfiguration("The connection has no Shopify shop: set its myshopify.com domain")
        if not settings.access_token:
            raise InvalidCredentials("The connection has no Shopify access token: install the SparkLayer app from "
                                     "your Shopify admin")
        tokens = Tokens(settings.access_token, settings.refresh_token,
                        float(settings.access_token_expires_at) if settings.access_token_expires_at else None)
        source = TokenSource(tokens, api_base=settings.api_base, app=dict(app or {}),
                             save=(lambda fresh: save_secrets(fresh.secrets())) if save_secrets else None)
        # Shopify keeps one bucket per app and shop
        scope = scope_name("shopify", settings.shop, (app or {}).get("client_id", ""))
        budget = rate_limits.cost_bucket(scope) if rate_limits else None
        client = ShopifyClient(settings.api_base, source, budget=budget, **client_options)
        bulk_from = int((app or {}).get("bulk_from") or bulk_from)  # IGNITE_APP_SHOPIFY_BULK_FROM, when set
        return cls(client, settings.shop, app=app, bulk_from=bulk_from)

    def __repr__(self) -> str:
        return f"ShopifyPlatform(shop={self.shop!r})"

    def close(self) -> None:
        self.client.close()

    # ---- the shop ----

    def check_credentials(self) -> None:
        self._read_shop()

    def _read_shop(self) -> dict:
        shop = self.client.execute(queries.SHOP)["shop"]
        self._currency = shop["currencyCode"]
        return shop

    @property
    def currency(self) -> str:
        if self._currency is None:
            self._read_shop()
        assert self._currency is not None
        return self._currency

    def store_settings(self) -> StoreSettings:
        self._read_shop()
        return StoreSettings(base_currency=self.currency)

    def stock_locations(self) -> list[StockLocation]:
        found = []
        for nodes in self.client.paginate(queries.LOCATIONS, {}, "locations", queries.LOCATIONS_PER_PAGE):
            found += [map_location(node) for node in nodes if node.get("isActive")]
        return found

    # ---- the catalogue ----

    def iter_catalogue(self, updated_since: datetime | None = None, *, page_size: int | None = None
                       ) -> Iterator[CataloguePage]:
        """A full read of a store of `bulk_from` products or more runs as bulk operations (`bulk.py`); an
        incremental read, or a smaller store, is paged."""
        if updated_since is None and self._products_count() >= self.bulk_from:
            with BulkRead(self.client) as read:
                read.run()
                for nodes in read.products(BULK_PAGE_SIZE):
                    yield self._page(nodes)
        else:
            size = min(page_size or queries.PRODUCTS_PER_PAGE, queries.PRODUCTS_PER_PAGE)
            for nodes in self.client.paginate(queries.PRODUCTS, {"query": _search_since(updated_since)}, "products",
                                              size):
                yield self._page(nodes)
        if updated_since is None:  # catalogs fire no webhooks: a whole read brings their prices
            yield from self._catalog_prices()

    def price_lists(self) -> list[PriceList]:
        """The price lists of the shop's active B2B catalogs (read once per adapter)."""
        return [price_list for price_list, _ in self._catalog_price_lists()]

    def _catalog_price_lists(self) -> list[tuple[PriceList, str]]:
        """Each active catalog's price list with its Shopify id."""
        if self._catalogs is None:
            found: list[tuple[PriceList, str]] = []
            for nodes in self.client.paginate(queries.CATALOGS, {}, "catalogs", queries.CATALOGS_PER_PAGE):
                found += [(mapped, node["priceList"]["id"]) for node in nodes
                          if (mapped := map_catalog_price_list(node))]
            self._catalogs = found
        return self._catalogs

    def _catalog_prices(self) -> Iterator[CataloguePage]:
        """Each catalog price list's prices; a catalog that goes while it is read ends its pages (the next full
        read forgets it)."""
        for price_list, price_list_id in self._catalog_price_lists():
            for nodes in self.client.paginate(queries.PRICE_LIST_PRICES, {"id": price_list_id}, ("priceList", "prices"),
                                              queries.PRICES_PER_PAGE):
                mapped = MappedProducts()
                map_list_prices(nodes, price_list, mapped)
                yield CataloguePage(prices=tuple(mapped.prices), problems=tuple(mapped.problems))

    def _products_count(self) -> int:
        return int((self.client.execute(queries.PRODUCTS_COUNT)["productsCount"] or {}).get("count") or 0)

    def fetch_products(self, ids: Sequence[str]) -> CataloguePage:
        """Products by numeric id, and the products of `inventory_item:<id>` ids (stock webhooks)."""
        wanted = list(dict.fromkeys(i for i in ids if not str(i).startswith(INVENTORY_ITEM)))
        items = [str(i)[len(INVENTORY_ITEM):] for i in ids if str(i).startswith(INVENTORY_ITEM)]
        for start in range(0, len(items), queries.INVENTORY_ITEMS_PER_REQUEST):
            batch = [gid("InventoryItem", i) for i in items[start:start + queries.INVENTORY_ITEMS_PER_REQUEST]]
            for node in self.client.execute(queries.INVENTORY_ITEM_PRODUCTS, {"ids": batch})["nodes"]:
                product = (((node or {}).get("variant") or {}).get("product") or {}).get("id")
                if product and legacy_id(product) not in wanted:
                    wanted.append(legacy_id(product))
        found: list[dict] = []
        missing: list[str] = []
        for start in range(0, len(wanted), queries.NODES_PER_REQUEST):
            batch = wanted[start:start + queries.NODES_PER_REQUEST]
            nodes = self.client.execute(queries.PRODUCT_NODES, {"ids": [gid("Product", i) for i in batch]})["nodes"]
            for requested, node in zip(batch, nodes):
                if node and node.get("__typename") == "Product":
                    found.append(node)
                else:
                    missing.append(requested)
        return self._page(found).model_copy(update={"missing_ids": tuple(missing)})

    def _page(self, nodes: list[dict]) -> CataloguePage:
        mapped = MappedProducts()
        for node in nodes:
            self._read_whole(node)
            map_product(node, self.currency, mapped, shop=self.shop)
        return CataloguePage(products=tuple(mapped.products), stock_levels=tuple(mapped.stock_levels),
                             prices=tuple(mapped.prices), problems=tuple(mapped.problems))

    def _read_whole(self, product: dict) -> None:
        """Read the pages after the first of a product's variants, and of each variant's levels and metafields."""
        variants = product.setdefault("variants", {})
        self._read_rest(variants, partial(self._after, queries.PRODUCT_VARIANTS_AFTER, product["id"], ("variants",)),
                        f"the variants of product {legacy_id(product['id'])}")
        for variant in variants.get("nodes") or []:
            if not variant:
                continue
            levels = (variant.get("inventoryItem") or {}).get("inventoryLevels")
            if levels is not None:
                self._read_rest(levels, partial(self._after, queries.VARIANT_LEVELS_AFTER, variant["id"],
                                                ("inventoryItem", "inventoryLevels")),
                                f"the stock of variant {legacy_id(variant['id'])}")
            metafields = variant.get("metafields")
            if metafields is not None:
                self._read_rest(metafields, partial(self._after, queries.VARIANT_METAFIELDS_AFTER, variant["id"],
                                                    ("metafields",)),
                                f"the metafields of variant {legacy_id(variant['id'])}")

    def _after(self, query: str, node_id: str, path: tuple[str, ...], after: str) -> dict | None:
        found = self.client.execute(query, {"id": node_id, "after": after})["node"]
        for name in path:
            if found is None:
                return None
            found = found.get(name)
        return found

    def _read_rest(self, connection: dict, fetch: Callable[[str], dict | None], what: str) -> None:
        read_rest(connection, fetch, what, "Shopify")

    # ---- orders and customers: part 2 ----

    def iter_orders(self, updated_since: datetime | None = None) -> Iterator[Order]:
        """SparkLayer orders (a `sparkCartId` note attribute) and imported ones changed since `updated_since`,
        each whole."""
        for nodes in self.client.paginate(queries.ORDERS, {"query": _search_since(updated_since)}, "orders",
                                          queries.ORDERS_PER_PAGE):
            yield from (map_order(node) for node in nodes if is_sparklayer_order(node))

    def fetch_orders(self, ids: Sequence[str]) -> list[Order]:
        """The SparkLayer orders a webhook named (orders, their fulfillments and refunds name the order)."""
        found = []
        for order_id in dict.fromkeys(str(i) for i in ids):
            [node] = self.client.execute(queries.ORDER_NODES, {"ids": [gid("Order", order_id)]})["nodes"]
            if node and node.get("__typename") == "Order" and is_sparklayer_order(node):
                found.append(map_order(node))
        return found

    def iter_customers(self, updated_since: datetime | None = None) -> Iterator[Customer]:
        """The shop's B2B customers (`map_customer`) changed since `updated_since` (all when None)."""
        for nodes in self.client.paginate(queries.CUSTOMERS, {"query": _search_since(updated_since)}, "customers",
                                          queries.CUSTOMERS_PER_PAGE):
            yield from (customer for node in nodes if (customer := map_customer(node)))

    def fetch_customers(self, ids: Sequence[str]) -> list[Customer]:
        """The customers a webhook named that are B2B customers now; one deleted, or no longer B2B, is left
        out, and the partial sync removes it from SparkLayer."""
        found: list[Customer] = []
        wanted = list(dict.fromkeys(str(i) for i in ids if not str(i).startswith(B2B_OBJECT)))
        wanted += [i for i in self._b2b_customers([str(i)[len(B2B_OBJECT):] for i in ids
                                                   if str(i).startswith(B2B_OBJECT)]) if i not in wanted]
        for start in range(0, len(wanted), queries.CUSTOMERS_PER_PAGE):
            batch = [gid("Customer", i) for i in wanted[start:start + queries.CUSTOMERS_PER_PAGE]]
            for node in self.client.execute(queries.CUSTOMER_NODES, {"ids": batch})["nodes"]:
                if node and node.get("__typename") == "Customer" and (customer := map_customer(node)):
                    found.append(customer)
        return found

    def _b2b_customers(self, object_ids: list[str]) -> list[str]:
        """The customer ids of the contacts the named companies, contacts and locations have now (one gone has
        none: the nightly reconcile settles what it changed)."""
        found: list[str] = []
        unique = list(dict.fromkeys(object_ids))
        for start in range(0, len(unique), queries.B2B_NODES_PER_REQUEST):
            batch = unique[start:start + queries.B2B_NODES_PER_REQUEST]
            for node in self.client.execute(queries.B2B_CUSTOMERS, {"ids": batch})["nodes"]:
                kind = (node or {}).get("__typename")
                if kind == "CompanyContact":
                    contacts = [node]
                elif kind == "Company":
                    contacts = nodes_of(node.get("contacts"))
                elif kind == "CompanyLocation":
                    contacts = [(a or {}).get("companyContact") for a in nodes_of(node.get("roleAssignments"))]
                else:
                    contacts = []
                found += [str(c["customer"]["legacyResourceId"]) for c in contacts
                          if c and (c.get("customer") or {}).get("legacyResourceId")]
        return list(dict.fromkeys(found))

    # ---- SparkLayer's customer calls (Ignite) ----

    def upsert_customer(self, customer: CustomerRequest) -> str:
        """Create the customer, or update the one with its email, as a B2B customer (tag `b2b`) with what
        SparkLayer states about it in `sparklayer` metafields (`customer_metafields`); its numeric id. The
        metafields are set before the edits whose webhooks bring the customer back to SparkLayer."""
        metafields = customer_metafields(customer)
        found = self.client.execute(queries.CUSTOMER_BY_EMAIL, {"email": customer.email})["customerByIdentifier"]
        if found is None:
            created = self.client.mutate(queries.CUSTOMER_CREATE, {"input": {
                "email": customer.email, "firstName": customer.first_name, "lastName": customer.last_name,
                "tags": [B2B_TAG], "metafields": [{"namespace": queries.NAMESPACE, "key": key, "type": kind,
                                                   "value": value} for key, (kind, value) in metafields.items()],
            }}, "customerCreate")["customer"]
            return str(created.get("legacyResourceId") or legacy_id(created["id"]))
        customer_id = found["id"]
        if metafields:
            self.client.mutate(queries.METAFIELDS_SET, {"metafields": [
                {"ownerId": customer_id, "namespace": queries.NAMESPACE, "key": key, "type": kind, "value": value}
                for key, (kind, value) in metafields.items()]}, "metafieldsSet")
        self.client.mutate(queries.CUSTOMER_UPDATE, {"input": {
            "id": customer_id, "firstName": customer.first_name, "lastName": customer.last_name}}, "customerUpdate")
        self.client.mutate(queries.TAGS_ADD, {"id": customer_id, "tags": [B2B_TAG]}, "tagsAdd")
        return str(found.get("legacyResourceId") or legacy_id(customer_id))

    def verify_customer_session(self, token: str) -> str:
        """SparkLayer's customer authentication: `token` is the query string Shopify signs when it forwards a
        storefront request through the app's proxy (CONTRACTS.md). Its signature (the app's client secret),
        its shop and its time (within Shopify's 90 seconds) are checked; the answer is `logged_in_customer_id`."""
        secret = self.app.get("client_secret")
        if not secret:
            raise InvalidConfiguration("Shopify signs app proxy requests with the app's client secret: set "
                                       "IGNITE_APP_SHOPIFY_CLIENT_SECRET")
        query = parse_qs(token.strip().lstrip("?"), keep_blank_values=True)
        if any(len(query.get(key, ())) != 1 for key in ("shop", "timestamp", "signature")) \
                or len(query.get("logged_in_customer_id", ())) > 1:
            raise InvalidSession("not an app proxy request's signed query")
        if not hmac.compare_digest(query["signature"][0].encode(), app_proxy_signature(query, secret).encode()):
            raise InvalidSession("not signed with the app's client secret")
        try:
            fresh = abs(self._clock() - int(query["timestamp"][0])) <= MAX_CLOCK_SKEW_SECONDS
        except ValueError:
            fresh = False
        if not fresh:
            raise InvalidSession("the signed request is too old")
        if query["shop"][0] != self.shop:
            raise InvalidSession("signed for another shop")
        customer_id = (query.get("logged_in_customer_id") or [""])[0]
        if not customer_id.isdigit():
            raise InvalidSession("no customer is signed in")
        return customer_id

    # ---- webhooks ----

    def register_webhooks(self, url: str, previous: WebhookRegistration | None = None) -> WebhookRegistration:
        """One subscription per topic we sync (`queries.WEBHOOK_TOPICS`) to `url`, signed by Shopify with the
        app's client secret. Subscriptions that still stand are kept and missing ones made again (Shopify
        deletes one after 8 failed deliveries); ours to another address are deleted."""
        secret = self.app.get("client_secret")
        if not secret:
            raise InvalidConfiguration("Shopify signs webhooks with the app's client secret: set "
                                       "IGNITE_APP_SHOPIFY_CLIENT_SECRET")
        standing: dict[str, str] = {}
        stale: list[str] = []
        previous_ids = set(((previous.state if previous else {}) or {}).get("ids", {}).values())
        for subscription in self._subscriptions():
            callback = (subscription.get("endpoint") or {}).get("callbackUrl")
            if callback == url and subscription["topic"] in queries.WEBHOOK_TOPICS:
                standing.setdefault(subscription["topic"], subscription["id"])
            elif subscription["id"] in previous_ids:
                stale.append(subscription["id"])
        created = []
        for topic in queries.WEBHOOK_TOPICS:
            if topic in standing:
                continue
            payload = self.client.mutate(queries.WEBHOOK_SUBSCRIPTION_CREATE, {
                "topic": topic, "input": {"callbackUrl": url, "format": "JSON"}}, "webhookSubscriptionCreate")
            standing[topic] = payload["webhookSubscription"]["id"]
            created.append(topic)
        for subscription_id in stale:
            try:
                self.client.mutate(queries.WEBHOOK_SUBSCRIPTION_DELETE, {"id": subscription_id},
                                   "webhookSubscriptionDelete")
            except ShopifyUserError as exc:  # already gone
                log.info("Shopify subscription %s was not deleted: %s", subscription_id, exc)
        state = {"url": url, "ids": standing, "shop": self.shop}
        if previous and not created and not stale and previous.state == state and previous.key == secret:
            return previous
        return WebhookRegistration(secret, state)

    def _subscriptions(self) -> Iterator[dict]:
        for nodes in self.client.paginate(queries.WEBHOOK_SUBSCRIPTIONS, {}, "webhookSubscriptions",
                                          queries.WEBHOOKS_PER_PAGE):
            yield from nodes
