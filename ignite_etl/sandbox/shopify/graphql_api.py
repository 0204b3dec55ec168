"""The simulator's Admin GraphQL layer: the published schema's subset in schema.graphql, executed over views
of the shop's records, and the requested cost of a document as Shopify's calculated query cost reckons it.

Views name their methods after the GraphQL fields, so graphql-core's default resolver finds them. Connections
page forwards (`first`/`after`, 1 to 250, one of them required as on Shopify); `last`/`before` are refused.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from importlib import resources
from typing import TYPE_CHECKING, Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    build_schema,
    get_named_type,
    is_leaf_type,
    value_from_ast_untyped,
)

from ignite_etl.sandbox.shopify.shop import (
    CatalogRecord,
    CompanyContactRecord,
    CompanyLocationRecord,
    CompanyRecord,
    CustomerRecord,
    LineItemRecord,
    LocationRecord,
    Metafield,
    OrderRecord,
    PriceListRecord,
    ProductRecord,
    Shop,
    VariantRecord,
    iso,
    metafield_problem,
)

if TYPE_CHECKING:
    from ignite_etl.sandbox.shopify.sandbox import ShopifySandbox

SCHEMA: GraphQLSchema = build_schema(resources.files(__package__).joinpath("schema.graphql").read_text())
MAX_PAGE_SIZE = 250
MAX_IDS = 250
MUTATION_COST = 10
MAX_METAFIELDS_SET = 25
QUANTITY_NAMES = ("available", "on_hand", "committed", "incoming", "reserved", "damaged", "quality_control",
                  "safety_stock")


def gid(kind: str, number: int | str) -> str:
    return f"gid://shopify/{kind}/{number}"


def parse_gid(value: str) -> tuple[str, int]:
    match = re.fullmatch(r"gid://shopify/(\w+)/(\d+)(\?.*)?", str(value))
    if not match:
        raise GraphQLError(f"Invalid global id '{value}'")
    return match.group(1), int(match.group(2))


def type_resolver(value: Any, info, abstract_type) -> str:
    return value.typename


# ---- connections ----

def _cursor(value: Any) -> str:
    return base64.b64encode(json.dumps(value).encode()).decode()


def _uncursor(cursor: str | None) -> Any:
    if cursor is None:
        return None
    try:
        return json.loads(base64.b64decode(cursor, validate=True))
    except ValueError:
        raise GraphQLError(f"Invalid cursor: {cursor!r}") from None


def page_size(first: int | None, last: int | None = None, before: str | None = None, *, bulk: bool = False) -> int | None:
    if last is not None or before is not None:
        raise GraphQLError("The simulator pages forwards only: use first and after")
    if first is None:
        if bulk:
            return None
        raise GraphQLError("you must provide one of first or last")
    if not 0 <= first <= MAX_PAGE_SIZE:
        raise GraphQLError(f"The value of first must be between 0 and {MAX_PAGE_SIZE}")
    return first


def connection(items: Sequence, first: int | None, after: str | None,
               key: Callable[[Any], tuple] | None = None, view: Callable[[Any], Any] | None = None) -> dict:
    """A forward page of `items` (already in order); cursors are `key(item)`, or the position. `view` makes
    the node of an item, only for the items on the page."""
    numbered: list[tuple[Any, Any]]
    if key is None:
        start = 0 if after is None else int(_uncursor(after)) + 1
        numbered = list(enumerate(items))[start:]
    else:
        last = _uncursor(after)
        numbered = [(key(i), i) for i in items if last is None or key(i) > tuple(last)]
    size = len(numbered) if first is None else first
    page = numbered[:size]
    make = view or (lambda item: item)
    edges = [{"cursor": _cursor(list(k) if isinstance(k, tuple) else k), "node": make(node)} for k, node in page]
    return {"edges": edges, "nodes": [e["node"] for e in edges], "pageInfo": {
        "hasNextPage": len(numbered) > size, "hasPreviousPage": after is not None,
        "startCursor": edges[0]["cursor"] if edges else None, "endCursor": edges[-1]["cursor"] if edges else None}}


def _updated_after(query: str | None) -> tuple[datetime | None, bool]:
    """The `updated_at:>'…'` (or `>=`) filter of a search query; other filters are not simulated."""
    if not query or not query.strip():
        return None, False
    match = re.fullmatch(r"\s*updated_at:(>=?)\s*'?([^']+?)'?\s*", query)
    if not match:
        raise GraphQLError(f"The simulator understands only updated_at:>'ISO time' searches, not {query!r}")
    try:
        moment = datetime.fromisoformat(match.group(2).replace("Z", "+00:00"))
    except ValueError:
        raise GraphQLError(f"Invalid updated_at value {match.group(2)!r}") from None
    return moment, match.group(1) == ">="


def _changed_since(records, query: str | None) -> list:
    """The records an `updated_at:>'…'` (or `>=`) search matches; all without one."""
    since, inclusive = _updated_after(query)
    return [r for r in records if since is None or r.updated_at > since or (inclusive and r.updated_at == since)]


def _sort_key(sort_key: str) -> Callable[[Any], tuple]:
    if sort_key == "UPDATED_AT":
        return lambda record: (iso(record.updated_at), record.id)
    return lambda record: (record.id,)


# ---- views ----

class _View:
    typename = ""


class ImageView(_View):
    typename = "Image"

    def __init__(self, url: str):
        self.url, self.id, self.altText = url, None, None


class MediaImageView(_View):
    typename = "MediaImage"

    def __init__(self, product: ProductRecord):
        self.id, self.alt = gid("MediaImage", product.id), None
        self.image = ImageView(product.image_url or "")


class LocationView(_View):
    typename = "Location"

    def __init__(self, location: LocationRecord):
        self.id, self.legacyResourceId = gid("Location", location.id), str(location.id)
        self.name, self.isActive = location.name, location.active


class InventoryLevelView(_View):
    typename = "InventoryLevel"

    def __init__(self, api: Api, variant: VariantRecord, location_id: int):
        self.id = gid("InventoryLevel", variant.inventory_item_id) + f"?inventory_item_id={location_id}"
        self.location = LocationView(api.store.locations[location_id])
        self._available = variant.levels.get(location_id, 0)

    def quantities(self, info, names: list[str]) -> list[dict]:
        unknown = [n for n in names if n not in QUANTITY_NAMES]
        if unknown:
            raise GraphQLError(f"Invalid quantity names: {', '.join(unknown)}")
        return [{"id": f"{self.id}&name={n}", "name": n, "quantity": self._available if n in ("available", "on_hand") else 0}
                for n in names]


class InventoryItemView(_View):
    typename = "InventoryItem"

    def __init__(self, api: Api, variant: VariantRecord):
        self._api, self._variant = api, variant
        self.id, self.legacyResourceId = gid("InventoryItem", variant.inventory_item_id), str(variant.inventory_item_id)
        self.sku, self.tracked = variant.sku, True
        weight = {"unit": variant.weight[0], "value": float(variant.weight[1])} if variant.weight else None
        self.measurement = {"id": gid("InventoryItemMeasurement", variant.inventory_item_id), "weight": weight}

    def variant(self, info):
        return VariantView(self._api, self._variant)

    def inventoryLevels(self, info, first=None, after=None, last=None, before=None, reverse=False, query=None):  # noqa: N802
        size = page_size(first, last, before, bulk=self._api.bulk)
        active = [loc for loc in self._api.store.locations.values() if loc.active and loc.id in self._variant.levels]
        return connection([InventoryLevelView(self._api, self._variant, loc.id) for loc in active], size, after)


class VariantView(_View):
    typename = "ProductVariant"

    def __init__(self, api: Api, variant: VariantRecord):
        self._api, self._variant = api, variant
        self.id, self.legacyResourceId = gid("ProductVariant", variant.id), str(variant.id)
        self.sku, self.barcode, self.position = variant.sku, None, variant.position
        self.price, self.compareAtPrice = variant.price, variant.compare_at_price
        self.title = " / ".join(value for _, value in variant.options)
        self.selectedOptions = [{"name": n, "value": v} for n, v in variant.options]
        self.image = ImageView(variant.image_url) if variant.image_url else None
        self.updatedAt = iso(variant.updated_at)

    def inventoryItem(self, info):  # noqa: N802
        return InventoryItemView(self._api, self._variant)

    def product(self, info):
        return ProductView(self._api, self._api.store.products[self._variant.product_id])

    def metafields(self, info, namespace=None, keys=None, first=None, after=None, last=None, before=None, reverse=False):
        return _metafields(self._variant.metafields, namespace, keys,
                           page_size(first, last, before, bulk=self._api.bulk), after)


class ProductView(_View):
    typename = "Product"

    def __init__(self, api: Api, product: ProductRecord):
        self._api, self._product = api, product
        self.id, self.legacyResourceId = gid("Product", product.id), str(product.id)
        self.handle, self.title, self.status = product.handle, product.title, product.status
        self.vendor, self.tags = product.vendor, list(product.tags)
        self.createdAt, self.updatedAt = iso(product.created_at), iso(product.updated_at)
        self.featuredMedia = MediaImageView(product) if product.image_url else None

    def options(self, info, first=None):
        names: dict[str, list[str]] = {}
        for variant_id in self._product.variant_ids:
            for name, value in self._api.store.variants[variant_id].options:
                values = names.setdefault(name, [])
                if value not in values:
                    values.append(value)
        options = [{"id": gid("ProductOption", f"{self._product.id}{n}"), "name": name, "position": n, "values": values}
                   for n, (name, values) in enumerate(names.items(), start=1)]
        return options[:first] if first is not None else options

    def variants(self, info, first=None, after=None, last=None, before=None, reverse=False, sortKey="POSITION"):  # noqa: N803
        size = page_size(first, last, before, bulk=self._api.bulk)
        shop = self._api.store
        return connection([VariantView(self._api, shop.variants[v]) for v in self._product.variant_ids], size, after)


class CustomerView(_View):
    typename = "Customer"

    def __init__(self, api: Api, customer: CustomerRecord):
        self._api, self._customer = api, customer
        self.id, self.legacyResourceId = gid("Customer", customer.id), str(customer.id)
        self.email, self.firstName, self.lastName = customer.email, customer.first_name, customer.last_name
        self.phone, self.tags, self.taxExempt = customer.phone, list(customer.tags), customer.tax_exempt
        self.createdAt, self.updatedAt = iso(customer.created_at), iso(customer.updated_at)
        self.defaultAddress = _mailing_address(customer.addresses[0]) if customer.addresses else None

    def companyContactProfiles(self, info):  # noqa: N802
        return [_contact(self._api, company, contact) for company, contact in
                self._api.store.contact_profiles(self._customer.id)]

    def addresses(self, info, first=None):
        found = [_mailing_address(a) for a in self._customer.addresses]
        return found[:first] if first is not None else found

    def metafields(self, info, namespace=None, keys=None, first=None, after=None, last=None, before=None, reverse=False):
        return _metafields(self._customer.metafields, namespace, keys,
                           page_size(first, last, before, bulk=self._api.bulk), after)

    def metafield(self, info, key, namespace=None):
        found = self._customer.metafields.get(key) if namespace in (None, "sparklayer") else None
        return _metafield(found) if found else None


class _Record(_View):
    """An object of the named type whose fields are given (a callable field takes the field's arguments)."""

    def __init__(self, typename: str, **fields: Any):
        self.typename = typename
        self.__dict__.update(fields)


def _pages(api: Api, items: Callable[[], list], view: Callable[[Any], Any]) -> Callable[..., dict]:
    """A connection field over `items()`, each shown by `view`."""
    def page(info, first=None, after=None, last=None, before=None, reverse=False, query=None, sortKey="ID"):  # noqa: N803
        return connection(items(), page_size(first, last, before, bulk=api.bulk), after, view=view)
    return page


def _company(api: Api, company: CompanyRecord) -> _Record:
    main = company.contacts.get(company.main_contact_id) if company.main_contact_id else None
    return _Record("Company", id=gid("Company", company.id), name=company.name, externalId=company.external_id,
                   mainContact=(lambda info: _contact(api, company, main)) if main else None,
                   contacts=_pages(api, lambda: list(company.contacts.values()),
                                   lambda contact: _contact(api, company, contact)))


def _location(api: Api, company: CompanyRecord, location: CompanyLocationRecord) -> _Record:
    return _Record(
        "CompanyLocation", id=gid("CompanyLocation", location.id), name=location.name, externalId=location.external_id,
        taxSettings={"taxExempt": location.tax_exempt},
        billingAddress=_company_address(location.billing_address, company),
        shippingAddress=_company_address(location.shipping_address, company),
        catalogs=_pages(api, lambda: [api.store.catalogs[i] for i in location.catalog_ids if i in api.store.catalogs],
                        lambda catalog: CatalogView(api, catalog)),
        roleAssignments=_pages(api, lambda: [c for c in company.contacts.values() if location.id in c.location_ids],
                               lambda contact: _assignment(api, company, contact, location)))


def _company_address(address: dict | None, company: CompanyRecord) -> dict | None:
    if address is None:
        return None
    return {"id": gid("CompanyAddress", address["id"]), "firstName": address["first_name"],
            "lastName": address["last_name"], "companyName": address["company"] or company.name,
            "address1": address["address1"] or "", "address2": address["address2"], "city": address["city"],
            "zoneCode": address["province_code"], "zip": address["zip"], "countryCode": address["country_code"] or "AU",
            "phone": address["phone"]}


def _assignment(api: Api, company: CompanyRecord, contact: CompanyContactRecord,
                location: CompanyLocationRecord) -> _Record:
    return _Record("CompanyContactRoleAssignment", id=gid("CompanyContactRoleAssignment", contact.id * 1000 + location.id),
                   companyLocation=lambda info: _location(api, company, location),
                   companyContact=lambda info: _contact(api, company, contact))


def _contact(api: Api, company: CompanyRecord, contact: CompanyContactRecord) -> _Record:
    """A company contact (`CompanyContact`), its company and its role assignments' locations."""
    return _Record(
        "CompanyContact", id=gid("CompanyContact", contact.id), isMainContact=contact.id == company.main_contact_id,
        title=contact.title, company=lambda info: _company(api, company),
        customer=lambda info: CustomerView(api, api.store.customers[contact.customer_id]),
        roleAssignments=_pages(api, lambda: [company.locations[i] for i in contact.location_ids],
                               lambda loc: _assignment(api, company, contact, loc)))


def _checked_metafield(owner: CustomerRecord | None, metafield: dict) -> tuple[str | None, tuple[str, str] | None]:
    """A metafield input's type (given, else that of the owner's metafield with its key) and Shopify's refusal
    of its value (`metafield_problem`), if any."""
    known = owner.metafields.get(metafield.get("key") or "") if owner else None
    kind = metafield.get("type") or (known.type if known else None)
    return kind, metafield_problem(kind, metafield.get("value") or "")


def _money(amount: str, currency: str) -> dict:
    return {"shopMoney": {"amount": amount, "currencyCode": currency}}


def _attributes(pairs: list[tuple[str, str]]) -> list[dict]:
    return [{"key": key, "value": value} for key, value in pairs]


def _listed(items: list, first: int | None) -> list:
    """A plain list field's `first` (Shopify's lists take one; no cursor)."""
    return items[:first] if first is not None else items


class LineItemView(_View):
    typename = "LineItem"

    def __init__(self, api: Api, order: OrderRecord, line: LineItemRecord):
        self.id, self.sku, self.name, self.quantity = gid("LineItem", line.id), line.sku, line.name, line.quantity
        self.currentQuantity = api.store.current_quantity(order, line)
        variant = api.store.variants.get(line.variant_id) if line.variant_id else None
        self.variant = VariantView(api, variant) if variant else None
        self.originalUnitPriceSet = _money(line.price, order.currency)
        self.customAttributes = _attributes(line.properties)


class OrderView(_View):
    typename = "Order"

    def __init__(self, api: Api, order: OrderRecord):
        self._api, self._order = api, order
        self.id, self.legacyResourceId, self.name = gid("Order", order.id), str(order.id), order.name
        self.createdAt = self.processedAt = iso(order.created_at)
        self.updatedAt = iso(order.updated_at)
        self.cancelledAt = iso(order.cancelled_at) if order.cancelled_at else None
        self.currencyCode, self.note, self.tags, self.email = order.currency, order.note, list(order.tags), order.email
        self.customAttributes = _attributes(order.attributes)
        customer = api.store.customers.get(order.customer_id) if order.customer_id else None
        self.customer = CustomerView(api, customer) if customer else None
        self.shippingAddress = _mailing_address(order.shipping_address) if order.shipping_address else None
        self.shippingLine = {"title": order.shipping_title} if order.shipping_title else None
        self.billingAddress = _mailing_address(order.billing_address) if order.billing_address else None

    def metafield(self, info, key, namespace=None):
        found = self._order.metafields.get(key) if namespace in (None, "sparklayer") else None
        return _metafield(found) if found else None

    def _line(self, line_id: int) -> LineItemView:
        return LineItemView(self._api, self._order, next(line for line in self._order.lines if line.id == line_id))

    def lineItems(self, info, first=None, after=None, last=None, before=None, reverse=False):  # noqa: N802
        return connection(self._order.lines, page_size(first, last, before, bulk=self._api.bulk), after,
                          view=lambda line: LineItemView(self._api, self._order, line))

    def fulfillments(self, info, first=None):
        return [{"id": gid("Fulfillment", f.id), "createdAt": iso(f.created_at), "status": f.status,
                 "trackingInfo": lambda info, first=None, f=f: _listed(
                     [{"company": f.tracking[0], "number": f.tracking[1], "url": f.tracking[2]}]
                     if any(f.tracking) else [], first),
                 "fulfillmentLineItems": lambda info, first=None, after=None, last=None, before=None, reverse=False,
                 f=f: connection([{"id": gid("FulfillmentLineItem", f.id * 1000 + n), "lineItem": self._line(line_id),
                                   "quantity": quantity} for n, (line_id, quantity) in enumerate(f.items.items())],
                                 page_size(first, last, before, bulk=self._api.bulk), after)}
                for f in _listed(self._order.fulfillments, first)]

    def refunds(self, info, first=None):
        return [{"id": gid("Refund", r.id), "createdAt": iso(r.created_at),
                 "totalRefundedSet": _money(r.amount, self._order.currency),
                 "refundLineItems": lambda info, first=None, after=None, last=None, before=None, reverse=False,
                 r=r: connection([{"id": None, "lineItem": self._line(line_id), "quantity": quantity,
                                   "restockType": restock} for line_id, (quantity, restock) in r.items.items()],
                                 page_size(first, last, before, bulk=self._api.bulk), after)}
                for r in _listed(self._order.refunds, first)]


def _metafields(found: dict[str, Metafield], namespace: str | None, keys: list[str] | None, size: int | None,
                after: str | None) -> dict:
    """A page of a record's `sparklayer` metafields (the only namespace the simulator keeps)."""
    chosen = [m for m in found.values()
              if namespace in (None, "sparklayer") and (keys is None or f"sparklayer.{m.key}" in keys)]
    return connection([_metafield(m) for m in chosen], size, after)


def _metafield(found: Metafield) -> dict:
    return {"id": gid("Metafield", found.id), "namespace": "sparklayer", "key": found.key, "type": found.type,
            "value": found.value}


def _mailing_address(address: dict) -> dict:
    return {"id": gid("MailingAddress", address["id"]), "firstName": address["first_name"],
            "lastName": address["last_name"], "company": address["company"], "address1": address["address1"],
            "address2": address["address2"], "city": address["city"], "provinceCode": address["province_code"],
            "countryCodeV2": address["country_code"], "zip": address["zip"], "phone": address["phone"]}


class PriceListView(_View):
    typename = "PriceList"

    def __init__(self, api: Api, price_list: PriceListRecord):
        self._api, self._list = api, price_list
        self.id, self.name, self.currency = gid("PriceList", price_list.id), price_list.name, price_list.currency
        kind, percent = price_list.adjustment
        self.parent = {"adjustment": {"type": kind, "value": percent}}

    def prices(self, info, originType=None, first=None, after=None, last=None, before=None, reverse=False,  # noqa: N803
               query=None):
        size = page_size(first, last, before, bulk=self._api.bulk)
        if query:
            raise GraphQLError("The simulator does not search price list prices")
        shop = self._api.store
        rows = []
        for variant in sorted(shop.variants.values(), key=lambda v: v.id):
            amount, origin = shop.list_price(self._list, variant)
            if originType is None or originType == origin:
                rows.append((variant, amount, origin))
        return connection(rows, size, after, key=lambda row: (row[0].id,),
                          view=lambda row: self._price(*row))

    def _price(self, variant: VariantRecord, amount: str, origin: str) -> dict:
        money = {"amount": amount, "currencyCode": self._list.currency}
        breaks = [{"id": gid("QuantityPriceBreak", f"{self._list.id}{variant.id}{minimum}"), "minimumQuantity": minimum,
                   "price": {"amount": price, "currencyCode": self._list.currency}, "variant": VariantView(self._api, variant)}
                  for minimum, price in sorted(self._list.breaks.get(variant.id, []))]
        api = self._api

        def quantity_price_breaks(info, first=None, after=None, last=None, before=None, reverse=False,
                                  sortKey="MINIMUM_QUANTITY"):  # noqa: N803
            return connection(breaks, page_size(first, last, before, bulk=api.bulk), after)

        return {"price": money, "compareAtPrice": None, "originType": origin, "variant": VariantView(api, variant),
                "quantityPriceBreaks": quantity_price_breaks}


class CatalogView(_View):
    typename = "CompanyLocationCatalog"

    def __init__(self, api: Api, catalog: CatalogRecord):
        self.id, self.title, self.status = gid("CompanyLocationCatalog", catalog.id), catalog.title, catalog.status
        lists = api.store.price_lists
        self.priceList = PriceListView(api, lists[catalog.price_list_id]) if catalog.price_list_id in lists else None


class WebhookSubscriptionView(_View):
    typename = "WebhookSubscription"

    def __init__(self, subscription):
        self.id, self.legacyResourceId = gid("WebhookSubscription", subscription.id), str(subscription.id)
        self.topic, self.format = subscription.topic, "JSON"
        self.endpoint = _HttpEndpoint(subscription.callback_url)
        self.includeFields, self.metafieldNamespaces = [], []
        self.createdAt = self.updatedAt = iso(subscription.created_at)


class _HttpEndpoint(_View):
    typename = "WebhookHttpEndpoint"

    def __init__(self, url: str):
        self.callbackUrl = url


class Api:
    """The root value of both operations: QueryRoot's and Mutation's fields over one sandbox. `bulk` lifts the
    `first` requirement, as a bulk operation's query has none."""

    def __init__(self, sandbox: ShopifySandbox, *, bulk: bool = False, window: slice | None = None):
        self.sandbox = sandbox
        self.store: Shop = sandbox.shop
        self.bulk = bulk
        self.window = window

    # ---- QueryRoot ----

    def shop(self, info):
        shop = self.sandbox.shop
        return {"id": gid("Shop", 1), "name": shop.name, "myshopifyDomain": shop.domain, "currencyCode": shop.currency,
                "enabledPresentmentCurrencies": [shop.currency], "weightUnit": "KILOGRAMS"}

    def products(self, info, first=None, after=None, last=None, before=None, reverse=False, sortKey="ID",  # noqa: N803
                 query=None, savedSearchId=None):  # noqa: N803
        size = page_size(first, last, before, bulk=self.bulk)
        records = _changed_since(self.sandbox.shop.products.values(), query)
        if self.window is not None:
            records = records[self.window]
        key = _sort_key(sortKey)
        records.sort(key=key)
        return connection(records, size, after, key=key, view=lambda record: ProductView(self, record))

    def productsCount(self, info, query=None, savedSearchId=None, limit=None):  # noqa: N802, N803
        count = len(_changed_since(self.sandbox.shop.products.values(), query))
        if limit is not None and count > limit:
            return {"count": limit, "precision": "AT_LEAST"}
        return {"count": count, "precision": "EXACT"}

    def productVariants(self, info, first=None, after=None, last=None, before=None, reverse=False,  # noqa: N802
                        sortKey="ID", query=None, savedSearchId=None):  # noqa: N803
        size = page_size(first, last, before, bulk=self.bulk)
        records = sorted(_changed_since(self.sandbox.shop.variants.values(), query), key=lambda v: v.id)
        if self.window is not None:
            records = records[self.window]
        return connection(records, size, after, key=lambda record: (record.id,),
                          view=lambda record: VariantView(self, record))

    def locations(self, info, first=None, after=None, last=None, before=None, reverse=False, sortKey="NAME",  # noqa: N803
                  query=None, includeLegacy=False, includeInactive=False):  # noqa: N803
        size = page_size(first, last, before)
        found = sorted((loc for loc in self.sandbox.shop.locations.values() if loc.active or includeInactive),
                       key=lambda loc: (loc.name, loc.id))
        return connection([LocationView(loc) for loc in found], size, after)

    def customers(self, info, first=None, after=None, last=None, before=None, reverse=False, sortKey="ID",  # noqa: N803
                  query=None):
        size = page_size(first, last, before, bulk=self.bulk)
        key = _sort_key(sortKey)
        records = sorted(_changed_since(self.store.customers.values(), query), key=key)
        return connection(records, size, after, key=key, view=lambda record: CustomerView(self, record))

    def customer(self, info, id):  # noqa: A002
        found = self._customer(id)
        return CustomerView(self, found) if found else None

    def orders(self, info, first=None, after=None, last=None, before=None, reverse=False,  # noqa: N803
               sortKey="PROCESSED_AT", query=None, savedSearchId=None):  # noqa: N803
        size = page_size(first, last, before, bulk=self.bulk)
        key = _sort_key(sortKey)
        records = sorted(_changed_since(self.store.orders.values(), query), key=key)
        return connection(records, size, after, key=key, view=lambda record: OrderView(self, record))

    def order(self, info, id):  # noqa: A002
        kind, number = parse_gid(id)
        found = self.store.orders.get(number) if kind == "Order" else None
        return OrderView(self, found) if found else None

    def customerByIdentifier(self, info, identifier):  # noqa: N802
        given = [name for name, value in identifier.items() if value is not None]
        if len(given) != 1:
            raise GraphQLError("Exactly one identifier is required: id or emailAddress")
        found = (self.store.customer_by_email(identifier["emailAddress"]) if given == ["emailAddress"]
                 else self._customer(identifier["id"]))
        return CustomerView(self, found) if found else None

    def _customer(self, customer_id: str) -> CustomerRecord | None:
        kind, number = parse_gid(customer_id)
        return self.store.customers.get(number) if kind == "Customer" else None

    def catalogs(self, info, type=None, first=None, after=None, last=None, before=None, reverse=False,  # noqa: A002
                 sortKey="ID", query=None):  # noqa: N803
        size = page_size(first, last, before, bulk=self.bulk)
        if query:
            raise GraphQLError("The simulator does not search catalogs")
        found = sorted((c for c in self.store.catalogs.values() if type in (None, c.type)), key=lambda c: c.id)
        return connection(found, size, after, key=lambda c: (c.id,), view=lambda c: CatalogView(self, c))

    def priceList(self, info, id):  # noqa: N802, A002
        kind, number = parse_gid(id)
        found = self.store.price_lists.get(number) if kind == "PriceList" else None
        return PriceListView(self, found) if found else None

    def node(self, info, id):  # noqa: A002
        return self._node(id)

    def nodes(self, info, ids):
        if len(ids) > MAX_IDS:
            raise GraphQLError(f"The input array size of {len(ids)} is greater than the maximum allowed of {MAX_IDS}.")
        return [self._node(i) for i in ids]

    def _node(self, node_id: str):
        kind, number = parse_gid(node_id)
        shop = self.sandbox.shop
        if kind == "Product" and number in shop.products:
            return ProductView(self, shop.products[number])
        if kind == "ProductVariant" and number in shop.variants:
            return VariantView(self, shop.variants[number])
        if kind == "InventoryItem" and number in shop.items:
            return InventoryItemView(self, shop.variants[shop.items[number]])
        if kind == "Customer" and number in shop.customers:
            return CustomerView(self, shop.customers[number])
        if kind == "Order" and number in shop.orders:
            return OrderView(self, shop.orders[number])
        for company in shop.companies.values():
            if kind == "Company" and number == company.id:
                return _company(self, company)
            if kind == "CompanyContact" and number in company.contacts:
                return _contact(self, company, company.contacts[number])
            if kind == "CompanyLocation" and number in company.locations:
                return _location(self, company, company.locations[number])
        if kind == "Location" and number in shop.locations:
            return LocationView(shop.locations[number])
        if kind == "WebhookSubscription" and number in self.sandbox.subscriptions:
            return WebhookSubscriptionView(self.sandbox.subscriptions[number])
        if kind == "BulkOperation" and number in self.sandbox.bulk_operations:
            return self.sandbox.bulk_operations[number]
        return None

    def webhookSubscriptions(self, info, first=None, after=None, last=None, before=None, reverse=False,  # noqa: N802
                             sortKey="CREATED_AT", query=None, callbackUrl=None, format=None, topics=None):  # noqa: N803, A002
        size = page_size(first, last, before)
        found = [s for s in self.sandbox.subscriptions.values()
                 if (topics is None or s.topic in topics) and (callbackUrl is None or s.callback_url == callbackUrl)]
        return connection([WebhookSubscriptionView(s) for s in found], size, after)

    def currentBulkOperation(self, info, type="QUERY"):  # noqa: N802, A002
        return self.sandbox.current_bulk_operation(type)

    # ---- Mutation ----

    def webhookSubscriptionCreate(self, info, topic, webhookSubscription):  # noqa: N802, N803
        url = webhookSubscription.get("callbackUrl")
        if not url:
            return {"webhookSubscription": None, "userErrors": [
                {"field": ["webhookSubscription", "callbackUrl"], "message": "Address can't be blank"}]}
        if webhookSubscription.get("format", "JSON") != "JSON":
            return {"webhookSubscription": None, "userErrors": [
                {"field": ["webhookSubscription", "format"], "message": "The simulator sends JSON only"}]}
        subscription, error = self.sandbox.subscribe(topic, url)
        if error:
            return {"webhookSubscription": None, "userErrors": [{"field": ["webhookSubscription", "callbackUrl"],
                                                                 "message": error}]}
        return {"webhookSubscription": WebhookSubscriptionView(subscription), "userErrors": []}

    def webhookSubscriptionDelete(self, info, id):  # noqa: N802, A002
        kind, number = parse_gid(id)
        if kind != "WebhookSubscription" or self.sandbox.subscriptions.pop(number, None) is None:
            return {"deletedWebhookSubscriptionId": None,
                    "userErrors": [{"field": ["id"], "message": "Webhook subscription does not exist"}]}
        return {"deletedWebhookSubscriptionId": id, "userErrors": []}

    def customerCreate(self, info, input):  # noqa: N802, A002
        fields, errors = self._customer_fields(input)
        if not errors and not any(fields.get(k) for k in ("email", "first_name", "last_name")):
            errors.append({"field": ["email"], "message": "A name or an email is required"})
        if errors:
            return {"customer": None, "userErrors": errors}
        customer_id = self.sandbox.add_customer(fields.pop("email", None), **fields)
        return {"customer": CustomerView(self, self.store.customers[customer_id]), "userErrors": []}

    def customerUpdate(self, info, input):  # noqa: N802, A002
        found = self._customer(input["id"]) if input.get("id") else None
        if found is None:
            return {"customer": None, "userErrors": [{"field": ["id"], "message": "Customer does not exist"}]}
        fields, errors = self._customer_fields(input, found)
        if errors:
            return {"customer": None, "userErrors": errors}
        self.sandbox.update_customer(found.id, **fields)
        return {"customer": CustomerView(self, found), "userErrors": []}

    def _customer_fields(self, given: dict, customer: CustomerRecord | None = None) -> tuple[dict, list[dict]]:
        """A `CustomerInput` as the shop's fields, and its user errors."""
        names = {"email": "email", "firstName": "first_name", "lastName": "last_name", "tags": "tags",
                 "taxExempt": "tax_exempt"}
        fields: dict[str, Any] = {names[k]: v for k, v in given.items() if k in names and v is not None}
        errors = []
        if fields.get("email"):
            taken = self.store.customer_by_email(fields["email"])
            if taken is not None and taken is not customer:
                errors.append({"field": ["email"], "message": "Email has already been taken"})
        metafields = {}
        for n, metafield in enumerate(given.get("metafields") or []):
            if metafield.get("id") or metafield.get("namespace") != "sparklayer":
                raise GraphQLError("The simulator sets sparklayer metafields by namespace and key only")
            kind, problem = _checked_metafield(customer, metafield)
            if not metafield.get("key") or problem:
                errors.append({"field": ["metafields", str(n), "value"],
                               "message": problem[1] if problem else "Key can't be blank"})
            else:
                metafields[metafield["key"]] = (kind, metafield["value"])
        if metafields:
            fields["metafields"] = metafields
        return fields, errors

    def tagsAdd(self, info, id, tags):  # noqa: N802, A002
        found = self._customer(id)
        if found is None:
            if parse_gid(id)[0] != "Customer":
                raise GraphQLError("The simulator adds tags to customers only")
            return {"node": None, "userErrors": [{"field": ["id"], "message": "Customer does not exist"}]}
        have = {t.lower() for t in found.tags}
        added = [t.strip() for t in tags if t.strip() and t.strip().lower() not in have]
        if added:
            self.sandbox.update_customer(found.id, tags=[*found.tags, *added])
        return {"node": CustomerView(self, found), "userErrors": []}

    def metafieldsSet(self, info, metafields):  # noqa: N802
        """All or nothing, at most 25, on customers (the simulator keeps no other owner's through this)."""
        if len(metafields) > MAX_METAFIELDS_SET:
            return {"metafields": None, "userErrors": [{"field": ["metafields"], "code": "LESS_THAN_OR_EQUAL_TO",
                                                       "elementIndex": None,
                                                       "message": f"Exceeded the maximum metafields input limit of "
                                                                  f"{MAX_METAFIELDS_SET}."}]}
        errors, wanted = [], []
        for n, metafield in enumerate(metafields):
            owner = self._customer(metafield["ownerId"])
            if parse_gid(metafield["ownerId"])[0] != "Customer":
                raise GraphQLError("The simulator sets metafields on customers only")
            if metafield.get("namespace") != "sparklayer":
                raise GraphQLError("The simulator keeps sparklayer metafields only")
            kind, problem = _checked_metafield(owner, metafield)
            if owner is None:
                problem = ("INVALID_VALUE", "Owner does not exist")
            if problem:
                errors.append({"field": ["metafields", str(n), "ownerId" if owner is None else "value"],
                               "code": problem[0], "elementIndex": n, "message": problem[1]})
            else:
                wanted.append((owner, metafield["key"], kind, metafield["value"]))
        if errors:
            return {"metafields": [], "userErrors": errors}
        for owner, key, kind, value in wanted:
            self.store.set_customer_metafields(owner.id, {key: (kind, value)})
        return {"metafields": [_metafield(owner.metafields[key]) for owner, key, _, _ in wanted], "userErrors": []}

    def bulkOperationRunQuery(self, info, query):  # noqa: N802
        return self.sandbox.run_bulk_query(query)

    def bulkOperationCancel(self, info, id):  # noqa: N802, A002
        return self.sandbox.cancel_bulk_operation(id)


# ---- calculated query cost ----

def requested_cost(schema: GraphQLSchema, document, variables: dict | None, operation_name: str | None = None) -> int:
    """Shopify's requested cost, as its rate-limit guide describes it: scalars and enums 0, every object 1, a
    connection 2 plus `first` times one node's cost, a list of ids (`nodes`) that many times one node's cost,
    a mutation 10. Where fragments on several types meet, the dearest counts."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    operation = next((o for o in operations if operation_name is None or (o.name and o.name.value == operation_name)),
                     None)
    if operation is None:
        return 0
    variables = variables or {}
    if operation.operation.value == "mutation":
        return MUTATION_COST * len(operation.selection_set.selections)

    def arguments(node: FieldNode) -> dict:
        return {a.name.value: value_from_ast_untyped(a.value, variables) for a in node.arguments}

    def selection_cost(selection_set: SelectionSetNode | None, parent) -> int:
        if selection_set is None:
            return 0
        total = 0
        branches = []
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += field_cost(selection, parent)
            else:
                if isinstance(selection, FragmentSpreadNode):
                    fragment = fragments.get(selection.name.value)
                    if fragment is None:
                        continue
                    condition, inner = fragment.type_condition, fragment.selection_set
                else:
                    assert isinstance(selection, InlineFragmentNode)
                    condition, inner = selection.type_condition, selection.selection_set
                target = schema.get_type(condition.name.value) if condition else parent
                branches.append(selection_cost(inner, target))
        return total + (max(branches) if branches else 0)

    def field_cost(node: FieldNode, parent) -> int:
        field = (getattr(parent, "fields", None) or {}).get(node.name.value)
        if field is None or node.name.value.startswith("__"):
            return 0
        named = get_named_type(field.type)
        if is_leaf_type(named):
            return 0
        if named.name.endswith("Connection"):
            args = arguments(node)
            size = int(args.get("first") or args.get("last") or 0)
            one, rest = 0, 0
            for selection in node.selection_set.selections if node.selection_set else ():
                if isinstance(selection, FieldNode) and selection.name.value in ("nodes", "edges"):
                    child = get_named_type(named.fields[selection.name.value].type)
                    own = 1 if selection.name.value == "nodes" else 0  # an edge's cost is its node's
                    one = max(one, own + selection_cost(selection.selection_set, child))
                elif isinstance(selection, FieldNode):
                    rest += field_cost(selection, named)
            return 2 + size * one + rest
        inner = selection_cost(node.selection_set, named)
        if node.name.value == "nodes" and _is_list(field.type):
            return len(arguments(node).get("ids") or []) * (1 + inner)
        return 1 + inner

    return selection_cost(operation.selection_set, schema.get_root_type(operation.operation))


def _is_list(type_) -> bool:
    while isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)
