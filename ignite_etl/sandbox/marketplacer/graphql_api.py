"""The simulator's GraphQL layer: the SDL in schema.graphql, executed over views of the catalogue records.

Views name their attributes after the GraphQL fields, so graphql-core's default resolver finds them.
"""

from __future__ import annotations

import base64
from importlib import resources
from typing import Any

from graphql import GraphQLError, build_schema

from ignite_etl.sandbox.marketplacer.catalogue import (
    OPTION_TYPES,
    OPTION_VALUES,
    SELLERS,
    AdvertRecord,
    Catalogue,
    InvoiceRecord,
    LineItemRecord,
    VariantRecord,
    global_id,
    iso,
    parse_global_id,
    parse_iso_us,
)

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 5000  # [I] the real cap is not published

SCHEMA = build_schema(resources.files(__package__).joinpath("schema.graphql").read_text())


def _cursor(prefix: str, value: int) -> str:
    return base64.b64encode(f"{prefix}:{value}".encode()).decode()


def _uncursor(prefix: str, cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        kind, _, value = base64.b64decode(cursor, validate=True).decode().partition(":")
        if kind == prefix:
            return int(value)
    except ValueError:
        pass
    raise GraphQLError(f"Invalid cursor: {cursor!r}")


def _page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE_SIZE
    if not 0 <= first <= MAX_PAGE_SIZE:
        raise GraphQLError(f"Argument 'first' must be between 0 and {MAX_PAGE_SIZE}")
    return first


def _since(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    try:
        return parse_iso_us(str(value))
    except ValueError:
        raise GraphQLError(f"{name} is not an ISO8601 date time: {value!r}") from None


def list_connection(items: list, first: int | None = None, after: str | None = None) -> dict:
    """A Relay connection over a short in-memory list (nested connections)."""
    start = 0 if after is None else _uncursor("arrayconnection", after) + 1
    size = len(items) if first is None else _page_size(first)
    page = items[start:start + size]
    return _connection([(start + i, item) for i, item in enumerate(page)], "arrayconnection",
                       start + size < len(items), len(items))


def _connection(numbered: list[tuple[int, Any]], prefix: str, has_next: bool, total: int) -> dict:
    edges = [{"cursor": _cursor(prefix, n), "node": node} for n, node in numbered]
    return {
        "edges": edges,
        "nodes": [edge["node"] for edge in edges],
        "pageInfo": {
            "hasNextPage": has_next,
            "hasPreviousPage": False,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
        "totalCount": total,
    }


def _seller(seller_id: int) -> dict:
    return {
        "__typename": "Seller", "id": global_id("Seller", seller_id), "legacyId": seller_id,
        "businessName": SELLERS.get(seller_id, f"Seller {seller_id}"), "online": True,
        "emailAddress": f"seller{seller_id}@example.com", "phone": None,
    }


class _AdvertBase:
    __slots__ = ("catalogue", "record")

    def __init__(self, catalogue: Catalogue, record: AdvertRecord):
        self.catalogue = catalogue
        self.record = record

    @property
    def id(self) -> str:
        return global_id("Advert", self.record.legacy_id)

    @property
    def legacyId(self) -> int:  # noqa: N802 - GraphQL field name
        return self.record.legacy_id

    @property
    def updatedAt(self) -> str:  # noqa: N802
        return iso(self.record.updated_at)

    @property
    def externalIds(self) -> list:  # noqa: N802
        return []

    def variants(self, info, displayableOnly: bool = True, first: int | None = None, after: str | None = None):  # noqa: N803
        variants = self.catalogue.live_variants(self.record)
        views = [VariantView(self.catalogue, v) for v in variants]
        if displayableOnly:
            views = [view for view in views if view.displayable]
        return list_connection(views, first, after)


class AdvertView(_AdvertBase):
    __typename = "Advert"
    __slots__ = ()

    @property
    def title(self) -> str:
        return self.record.title

    fullTitle = title  # noqa: N815

    @property
    def description(self) -> str:
        return f"{self.record.title}, sold by {SELLERS.get(self.record.seller_id)}."

    @property
    def code(self) -> str:
        return f"ADV{self.record.legacy_id}"

    @property
    def createdAt(self) -> str:  # noqa: N802
        return iso(self.record.created_at)

    @property
    def published(self) -> bool:
        return self.record.state in ("online", "offline")

    @property
    def online(self) -> bool:
        return self.record.state == "online"

    displayable = online
    vetted = True
    brand = None

    @property
    def seller(self) -> dict:
        return _seller(self.record.seller_id)

    @property
    def displayImage(self) -> dict:  # noqa: N802
        return {"__typename": "Image", "id": global_id("Image", self.record.legacy_id), "alt": self.record.title,
                "url": f"https://images.example/adverts/{self.record.legacy_id}.jpg"}

    def images(self, info, first: int | None = None, after: str | None = None):
        return list_connection([self.displayImage], first, after)

    @property
    def lowestOriginalPrice(self) -> str | None:  # noqa: N802
        prices = [v.price for v in self.catalogue.live_variants(self.record)]
        return min(prices, default=None)


class UnpublishedAdvertView(_AdvertBase):
    __typename = "UnpublishedAdvert"
    __slots__ = ()

    @property
    def details(self) -> AdvertView:
        return AdvertView(self.catalogue, self.record)


class DeletedAdvertView(_AdvertBase):
    __typename = "DeletedAdvert"
    __slots__ = ()


def advert_view(catalogue: Catalogue, record: AdvertRecord) -> _AdvertBase:
    if record.state == "deleted":
        return DeletedAdvertView(catalogue, record)
    if record.state == "unpublished":
        return UnpublishedAdvertView(catalogue, record)
    return AdvertView(catalogue, record)


class VariantView:
    __typename = "Variant"
    __slots__ = ("catalogue", "record")

    def __init__(self, catalogue: Catalogue, record: VariantRecord):
        self.catalogue = catalogue
        self.record = record

    @property
    def id(self) -> str:
        return global_id("Variant", self.record.legacy_id)

    @property
    def legacyId(self) -> int:  # noqa: N802
        return self.record.legacy_id

    @property
    def advert(self) -> _AdvertBase:
        return advert_view(self.catalogue, self.catalogue.adverts[self.record.advert_id])

    @property
    def sku(self) -> str | None:
        return self.record.sku

    @property
    def barcode(self) -> str | None:
        return self.record.barcode

    @property
    def label(self) -> str:
        return " / ".join(OPTION_VALUES[i][1] for i in self.record.option_value_ids if i in OPTION_VALUES)

    @property
    def countOnHand(self) -> int:  # noqa: N802
        return self.record.count_on_hand

    @property
    def displayable(self) -> bool:
        return not self.record.deleted and self.catalogue.adverts[self.record.advert_id].state == "online"

    @property
    def buyable(self) -> bool:
        return self.displayable and self.record.count_on_hand > 0

    @property
    def published(self) -> bool:
        return self.catalogue.adverts[self.record.advert_id].state in ("online", "offline")

    @property
    def createdAt(self) -> str:  # noqa: N802
        return iso(self.catalogue.adverts[self.record.advert_id].created_at)

    @property
    def updatedAt(self) -> str:  # noqa: N802
        return iso(self.record.updated_at)

    @property
    def lowestPrice(self) -> str:  # noqa: N802
        return self.record.price

    editablePrice = lowestPrice  # noqa: N815

    def inventories(self, info, first: int | None = None, after: str | None = None):
        inventory = {
            "__typename": "Inventory", "id": global_id("Inventory", self.record.legacy_id),
            "countOnHand": self.record.count_on_hand, "infiniteQuantity": False, "fixedPricing": False,
            "price": {"amount": self.record.price}, "salePrice": None,
            "seller": _seller(self.catalogue.adverts[self.record.advert_id].seller_id),
        }
        return list_connection([inventory], first, after)

    def optionValues(self, info, first: int | None = None, after: str | None = None):  # noqa: N802
        return list_connection([_option_value(i) for i in self.record.option_value_ids if i in OPTION_VALUES],
                               first, after)

    @property
    def shippingParcel(self) -> dict | None:  # noqa: N802
        if self.record.weight_kg is None:
            return None
        return {"weightInKg": self.record.weight_kg, "lengthInCm": None, "depthInCm": None, "widthInCm": None}

    @property
    def externalIds(self) -> list:  # noqa: N802
        return []


def _option_value(option_value_id: int) -> dict:
    type_id, name = OPTION_VALUES[option_value_id]
    return {
        "__typename": "OptionValue", "id": global_id("OptionValue", option_value_id), "name": name.lower(),
        "displayName": name,
        "optionType": {"__typename": "OptionType", "id": global_id("OptionType", type_id),
                       "name": OPTION_TYPES[type_id], "fieldType": "single_select"},
    }


def _line_item(item: LineItemRecord) -> dict:
    return {
        "__typename": "LineItem", "id": global_id("LineItem", item.legacy_id), "legacyId": item.legacy_id,
        "quantity": item.quantity, "variantId": global_id("Variant", item.variant_id), "variantSku": item.sku,
        "variantBarcode": item.barcode, "variantName": item.name,
        "status": "CANCELLED" if item.cancelled_quantity >= item.quantity else "ALLOCATED",
        "unitPrice": {"amount": item.unit_price}, "cancelledQuantity": item.cancelled_quantity,
    }


def invoice_view(catalogue: Catalogue, invoice: InvoiceRecord) -> dict:
    order = catalogue.orders[invoice.order_id]
    items = {i: _line_item(catalogue.line_items[i]) for i in invoice.line_item_ids}
    address = order.address
    flags = ["PAID"] + (["SENT"] if invoice.shipments else []) + (["REFUNDED"] if invoice.refunds else [])
    return {
        "__typename": "Invoice", "id": global_id("Invoice", invoice.legacy_id), "legacyId": invoice.legacy_id,
        "createdAt": iso(invoice.created_at), "updatedAt": iso(invoice.updated_at), "statusFlags": flags,
        "buyerFirstName": order.buyer.get("firstName"), "buyerSurname": order.buyer.get("surname"),
        "buyerPhone": order.buyer.get("phone"), "buyerEmailAddress": order.buyer.get("emailAddress"),
        "shippingAddress": {
            "address": address.get("address"), "city": address.get("city"),
            "state": {"name": address.get("state"), "short": address.get("state")},
            "postcode": address.get("postcode"), "country": {"code": address.get("country"), "name": None},
        } if address else None,
        "seller": _seller(invoice.seller_id),
        "order": lambda info: order_view(catalogue, order.legacy_id),
        "lineItems": list(items.values()),
        "shipments": [
            {"__typename": "Shipment", "id": global_id("Shipment", s.legacy_id), "createdAt": iso(s.created_at),
             "trackingLink": s.tracking_link, "trackingNumber": s.tracking_number, "carrier": s.carrier,
             "shippedItems": [{"id": global_id("ShippedItem", s.legacy_id * 1000 + n), "quantity": q,
                               "lineItem": items[line_id]} for n, (line_id, q) in enumerate(s.items)]}
            for s in invoice.shipments
        ],
        "refundRequests": [
            {"__typename": "RefundRequest", "id": global_id("RefundRequest", r.legacy_id), "legacyId": r.legacy_id,
             "status": r.status, "createdAt": iso(r.created_at), "updatedAt": iso(r.created_at),
             "lineItems": [{"id": global_id("RefundRequestLineItem", r.legacy_id * 1000 + n), "quantity": q,
                            "amount": {"amount": amount}, "lineItem": items[line_id]}
                           for n, (line_id, q, amount) in enumerate(r.items)]}
            for r in invoice.refunds
        ],
    }


def order_view(catalogue: Catalogue, legacy_id: int) -> dict:
    order = catalogue.orders[legacy_id]
    return {
        "__typename": "Order", "id": global_id("Order", legacy_id), "legacyId": legacy_id,
        "createdAt": iso(order.created_at), "updatedAt": iso(order.updated_at),
        "externalIds": [{"key": k, "value": v} for k, v in order.external_ids.items()],
        "invoices": lambda info, first=None, after=None: list_connection(
            [invoice_view(catalogue, catalogue.invoices[i]) for i in order.invoice_ids], first, after),
    }


class QueryRoot:
    """The Query type; `webhooks` is the sandbox's registry, used by webhookCreate."""

    def __init__(self, catalogue: Catalogue, webhooks=None):
        self.catalogue = catalogue
        self.webhooks = webhooks

    def _node(self, value: str):
        parsed = parse_global_id(value)
        if parsed is None:
            return None
        type_name, legacy_id = parsed
        catalogue = self.catalogue
        if type_name == "Advert" and legacy_id in catalogue.adverts:
            return advert_view(catalogue, catalogue.adverts[legacy_id])
        if type_name == "Variant" and legacy_id in catalogue.variants and not catalogue.variants[legacy_id].deleted:
            return VariantView(catalogue, catalogue.variants[legacy_id])
        if type_name == "Invoice" and legacy_id in catalogue.invoices:
            return invoice_view(catalogue, catalogue.invoices[legacy_id])
        if type_name == "Order" and legacy_id in catalogue.orders:
            return order_view(catalogue, legacy_id)
        if type_name == "Seller" and legacy_id in SELLERS:
            return _seller(legacy_id)
        return None

    def node(self, info, id: str):  # noqa: A002
        return self._node(id)

    def nodes(self, info, ids: list[str]):
        if len(ids) > MAX_PAGE_SIZE:
            raise GraphQLError(f"At most {MAX_PAGE_SIZE} ids per nodes query")
        return [self._node(value) for value in ids]

    def allAdverts(self, info, updatedSince=None, vetted=None, first=None, after=None):  # noqa: N802, N803
        found, has_next, total = self.catalogue.page_adverts(
            _since(updatedSince, "updatedSince"), _uncursor("advert", after), _page_size(first)
        )
        return _connection([(p, advert_view(self.catalogue, a)) for p, a in found], "advert", has_next, total)

    def advertsWhere(self, info, first=None, after=None, **filters):  # noqa: N802
        if not any(value not in (None, []) for value in filters.values()):
            return _connection([], "advertswhere", False, 0)
        legacy_ids = set(filters.get("legacyIds") or ())
        skus = set(filters.get("variantSkus") or ())
        matching = [
            a for a in self.catalogue.adverts.values()
            if (not legacy_ids or a.legacy_id in legacy_ids)
            and (not skus or any(v.sku in skus for v in self.catalogue.live_variants(a)))
            and (not filters.get("title") or filters["title"].lower() in a.title.lower())
        ]
        start = 0 if after is None else _uncursor("advertswhere", after) + 1
        size = _page_size(first)
        page = matching[start:start + size]
        return _connection([(start + i, AdvertView(self.catalogue, a)) for i, a in enumerate(page)],
                           "advertswhere", start + size < len(matching), len(matching))

    def invoices(self, info, first=None, after=None, filters=None, sort=None):
        filters = dict(filters or {})
        for name in ("updatedSince", "updatedUntil"):
            _since(filters.get(name), name)
        page, has_next, total = self.catalogue.page_invoices(filters, _uncursor("invoice", after), _page_size(first))
        return _connection([(inv.legacy_id, invoice_view(self.catalogue, inv)) for inv in page], "invoice",
                           has_next, total)

    def allSellers(self, info, first=None, after=None, includeDeleted=None):  # noqa: N802, N803
        return list_connection([_seller(i) for i in SELLERS], first, after)


class OperatorRoot(QueryRoot):
    """The root of both operation types: every Query field plus the mutations."""

    def webhookCreate(self, info, input: dict):  # noqa: N802, A002
        attributes = input["attributes"]
        errors = []
        url = attributes.get("url") or ""
        if not url.startswith(("http://", "https://")):
            errors.append({"field": "url", "messages": ["is not a valid URL"]})
        max_retries = attributes.get("maxRetries")
        if max_retries is not None and not 0 <= max_retries <= 50:
            errors.append({"field": "maxRetries", "messages": ["must be between 0 and 50"]})
        if errors:
            return {"webhook": None, "clientMutationId": input.get("clientMutationId"), "errors": errors, "status": 422}
        webhook = self.webhooks.create(attributes)
        return {
            "webhook": webhook.view(), "clientMutationId": input.get("clientMutationId"), "errors": None,
            "status": 200,
        }
