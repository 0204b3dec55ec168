"""The simulator's GraphQL layer: the published schema's subset in schema.graphql, executed over views of
the catalogue records.

Views name their attributes after the GraphQL fields, so graphql-core's default resolver finds them.
Connections page forwards only (`first`/`after`); `last`/`before` are refused with a clear error.
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
    OrderRecord,
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


def _page_size(first: int | None, last: int | None = None, before: str | None = None) -> int:
    if last is not None or before is not None:
        raise GraphQLError("The simulator pages forwards only: use first and after")
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


def list_connection(items: list, first: int | None = None, after: str | None = None, last: int | None = None,
                    before: str | None = None) -> dict:
    """A Relay connection over an in-memory list (nested connections)."""
    size = _page_size(first, last, before)
    start = 0 if after is None else (_uncursor("arrayconnection", after) or 0) + 1
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
        "emailAddress": f"seller{seller_id}@example.com", "phone": "+61 2 9000 0000",
    }


def _metadata(values: dict[str, str], stamp: int) -> list[dict]:
    return [{"key": key, "value": value, "createdAt": iso(stamp), "updatedAt": iso(stamp)} for key, value in values.items()]


def _money(amount: str | None) -> dict | None:
    return None if amount is None else {"amount": amount, "currencyCode": "AUD"}


def _dollars(cents: int) -> str:
    return f"{cents / 100:.2f}"


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

    def _variant_ids(self, info, first=None, after=None, last=None, before=None):
        """`AllAdvertVariantConnection`: the ids of the advert's variants, nothing else."""
        ids = [{"__typename": "AllAdvertVariant", "id": global_id("Variant", i), "legacyId": i}
               for i in self.record.variant_ids if not self.catalogue.variants[i].deleted]
        return list_connection(ids, first, after, last, before)


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

    @property
    def seller(self) -> dict:
        return _seller(self.record.seller_id)

    @property
    def displayImage(self) -> dict:  # noqa: N802
        return {"__typename": "Image", "id": global_id("Image", self.record.legacy_id), "alt": self.record.title,
                "url": f"https://images.example/adverts/{self.record.legacy_id}.jpg"}

    def images(self, info, first=None, after=None, last=None, before=None):
        return list_connection([self.displayImage], first, after, last, before)

    @property
    def lowestOriginalPrice(self) -> str | None:  # noqa: N802
        prices = [v.price for v in self.catalogue.live_variants(self.record)]
        return min(prices, default=None)

    @property
    def recommendedRetailPrice(self) -> str | None:  # noqa: N802
        return self.record.rrp

    @property
    def metadata(self) -> list[dict]:
        return _metadata(self.record.metadata, self.record.updated_at)

    def variants(self, info, displayableOnly=None, first=None, after=None, last=None, before=None):  # noqa: N803
        """[I] without `displayableOnly: false`, variants that are not displayable are left out."""
        views = [VariantView(self.catalogue, v) for v in self.catalogue.live_variants(self.record)]
        if displayableOnly is not False:
            views = [view for view in views if view.displayable]
        return list_connection(views, first, after, last, before)


class UnpublishedAdvertView(_AdvertBase):
    __typename = "UnpublishedAdvert"
    __slots__ = ()

    @property
    def details(self) -> AdvertView:
        return AdvertView(self.catalogue, self.record)

    variants = _AdvertBase._variant_ids


class DeletedAdvertView(_AdvertBase):
    __typename = "DeletedAdvert"
    __slots__ = ()

    variants = _AdvertBase._variant_ids


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

    @property
    def editablePrice(self) -> str:  # noqa: N802
        return self.record.price

    @property
    def recommendedRetailPrice(self) -> str | None:  # noqa: N802
        return self.record.rrp

    @property
    def metadata(self) -> list[dict]:
        return _metadata(self.record.metadata, self.record.updated_at)

    def inventories(self, info, first=None, after=None, last=None, before=None):
        inventory = {
            "__typename": "Inventory", "id": global_id("Inventory", self.record.legacy_id),
            "countOnHand": self.record.count_on_hand, "infiniteQuantity": False,
            "price": _money(self.record.price), "salePrice": None,
            "seller": _seller(self.catalogue.adverts[self.record.advert_id].seller_id),
        }
        return list_connection([inventory], first, after, last, before)

    def variantOptionValues(self, info, first=None, after=None, last=None, before=None):  # noqa: N802
        values = [_variant_option_value(self.record.legacy_id, i) for i in self.record.option_value_ids
                  if i in OPTION_VALUES]
        return list_connection(values, first, after, last, before)

    @property
    def shippingParcel(self) -> dict | None:  # noqa: N802
        if self.record.weight_kg is None:
            return None
        return {"id": global_id("ShippingParcel", self.record.legacy_id), "weightInKg": self.record.weight_kg,
                "lengthInCm": None, "depthInCm": None, "widthInCm": None, "massUnit": "kg", "distanceUnit": "cm"}

    @property
    def externalIds(self) -> list:  # noqa: N802
        return []


def _variant_option_value(variant_id: int, option_value_id: int) -> dict:
    type_id, name = OPTION_VALUES[option_value_id]
    return {
        "__typename": "VariantOptionValue", "id": global_id("VariantOptionValue", variant_id * 100 + option_value_id),
        "textValue": None,
        "optionType": {"__typename": "OptionType", "id": global_id("OptionType", type_id), "legacyId": type_id,
                       "name": OPTION_TYPES[type_id].lower(), "displayName": OPTION_TYPES[type_id]},
        "optionValue": {"__typename": "OptionValue", "id": global_id("OptionValue", option_value_id),
                        "legacyId": option_value_id, "name": name.lower(), "displayName": name},
    }


# ---- orders ----


def _address(address: dict, key: int) -> dict | None:
    if not address or not address.get("address"):
        return None
    return {
        "__typename": "Address", "id": global_id("Address", key), "address": address.get("address") or "",
        "subaddress": address.get("subaddress"), "city": address.get("city") or "",
        "postcode": address.get("postcode") or "",
        "state": {"id": global_id("State", key), "name": address["state"], "short": address["state"]}
        if address.get("state") else None,
        "country": {"id": global_id("Country", key), "code": address.get("country") or "AU",
                    "name": address.get("country") or "AU"},
    }


def _line_item(catalogue: Catalogue, item: LineItemRecord) -> dict:
    status, status_full = catalogue.line_status(item)
    subtotal = item.unit_price_cents * item.quantity
    return {
        "__typename": "LineItem", "id": global_id("LineItem", item.legacy_id), "legacyId": item.legacy_id,
        "quantity": item.quantity, "variantId": global_id("Variant", item.variant_id), "variantLegacyId": item.variant_id,
        "variantSku": item.sku, "variantBarcode": item.barcode, "variantName": item.name, "advertTitle": item.name,
        "status": status, "statusFull": status_full, "itemAmountCents": item.unit_price_cents,
        "subtotalCents": subtotal, "totalCents": subtotal, "discountCents": 0,
        "quantityAwaitingDispatch": catalogue.awaiting_dispatch(item),
        "quantityReturnable": max(0, catalogue.shipped(item) - catalogue.refunded(item, dispatched=True)),
    }


def invoice_view(catalogue: Catalogue, invoice: InvoiceRecord) -> dict:
    order = catalogue.orders[invoice.order_id]
    items = {i: _line_item(catalogue, catalogue.line_items[i]) for i in invoice.line_item_ids}
    subtotal = sum(item["subtotalCents"] for item in items.values())
    flags = ["PAID"]
    if invoice.shipments:
        awaiting = sum(item["quantityAwaitingDispatch"] for item in items.values())
        flags.append("PARTIALLY_SENT" if awaiting else "SENT")
    if invoice.refunds:
        flags.append("REFUNDED")
    if all(item["status"] == "CANCELLED" for item in items.values()):
        flags.append("CANCELLED")
    return {
        "__typename": "Invoice", "id": global_id("Invoice", invoice.legacy_id), "legacyId": invoice.legacy_id,
        "createdAt": iso(invoice.created_at), "updatedAt": iso(invoice.updated_at), "statusFlags": flags,
        "buyerFirstName": order.buyer.get("firstName"), "buyerSurname": order.buyer.get("surname"),
        "buyerPhone": order.buyer.get("phone"), "buyerEmailAddress": order.buyer.get("emailAddress"),
        "shippingAddress": _address(order.address, order.legacy_id * 2),
        "buyerBillingAddress": _address(order.billing_address, order.legacy_id * 2 + 1),
        "seller": _seller(invoice.seller_id),
        "order": lambda info: order_view(catalogue, order.legacy_id),
        "lineItems": list(items.values()),
        "subtotalCents": subtotal, "totalCents": subtotal, "shippingCostCents": 0,
        "shipments": [
            {"__typename": "Shipment", "id": global_id("Shipment", s.legacy_id), "legacyId": s.legacy_id,
             "createdAt": iso(s.created_at), "updatedAt": iso(s.created_at), "dispatchedAt": iso(s.created_at),
             "trackingLink": s.tracking_link, "trackingNumber": s.tracking_number, "carrier": s.carrier,
             "shippedItems": [{"id": global_id("ShippedItem", s.legacy_id * 1000 + n), "quantity": q,
                               "lineItem": items[line_id]} for n, (line_id, q) in enumerate(s.items)],
             "invoice": lambda info: invoice_view(catalogue, invoice)}
            for s in invoice.shipments
        ],
        "refundRequests": [
            {"__typename": "RefundRequest", "id": global_id("RefundRequest", r.legacy_id), "legacyId": r.legacy_id,
             "status": r.status, "createdAt": iso(r.created_at), "updatedAt": iso(r.created_at),
             "refundedAt": iso(r.created_at) if r.status == "REFUNDED" else None,
             "lineItems": [{"id": global_id("RefundRequestLineItem", r.legacy_id * 1000 + n),
                            "legacyId": r.legacy_id * 1000 + n, "quantity": q, "amountCents": cents,
                            "amountPerItemCents": cents // q if q else 0, "dispatched": dispatched,
                            "status": "REFUNDED" if r.status == "REFUNDED" else "PENDING_APPROVAL",
                            "lineItem": items[line_id]}
                           for n, (line_id, q, cents, dispatched) in enumerate(r.items)],
             "invoice": lambda info: invoice_view(catalogue, invoice)}
            for r in invoice.refunds
        ],
    }


def order_view(catalogue: Catalogue, legacy_id: int) -> dict:
    order: OrderRecord = catalogue.orders[legacy_id]
    invoices = [catalogue.invoices[i] for i in order.invoice_ids]
    subtotal = sum(catalogue.line_items[i].unit_price_cents * catalogue.line_items[i].quantity
                   for invoice in invoices for i in invoice.line_item_ids)
    buyer, billing = order.buyer, order.billing_address
    return {
        "__typename": "Order", "id": global_id("Order", legacy_id), "legacyId": legacy_id,
        "createdAt": iso(order.created_at), "updatedAt": iso(order.updated_at), "status": "COMPLETE",
        "externalIds": [{"id": global_id("ExternalID", legacy_id * 10 + n), "key": k, "value": v}
                        for n, (k, v) in enumerate(order.external_ids.items())],
        "emailAddress": buyer.get("emailAddress"), "firstName": buyer.get("firstName"),
        "surname": buyer.get("surname"), "phone": buyer.get("phone"), "companyName": buyer.get("companyName"),
        "address": _address(order.address, legacy_id * 2),
        "billingAddress": _address(billing, legacy_id * 2 + 1),
        "billingFirstName": billing.get("firstName") or buyer.get("firstName"),
        "billingSurname": billing.get("surname") or buyer.get("surname"),
        "billingEmailAddress": billing.get("emailAddress") or buyer.get("emailAddress"),
        "billingPhone": billing.get("phone") or buyer.get("phone"),
        "billingCompanyName": billing.get("companyName") or buyer.get("companyName"),
        "subtotalCents": subtotal, "totalCents": subtotal, "shippingCostCents": 0,
        "invoices": lambda info, first=None, after=None, last=None, before=None: list_connection(
            [invoice_view(catalogue, invoice) for invoice in invoices], first, after, last, before),
    }


class QueryRoot:
    """The Query type; `registry` holds the sandbox's webhooks (`WebhookDispatcher`)."""

    def __init__(self, catalogue: Catalogue, registry=None):
        self.catalogue = catalogue
        self.registry = registry

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
        if type_name in ("Shipment", "RefundRequest"):
            key = "shipments" if type_name == "Shipment" else "refundRequests"
            for invoice in catalogue.invoices.values():
                if any(p.legacy_id == legacy_id for p in (invoice.shipments if key == "shipments" else invoice.refunds)):
                    return next(v for v in invoice_view(catalogue, invoice)[key] if v["legacyId"] == legacy_id)
        if type_name == "Webhook" and self.registry is not None and legacy_id in self.registry.webhooks:
            return self.registry.webhooks[legacy_id].view()
        return None

    def node(self, info, id: str):  # noqa: A002
        return self._node(id)

    def nodes(self, info, ids: list[str]):
        if len(ids) > MAX_PAGE_SIZE:
            raise GraphQLError(f"At most {MAX_PAGE_SIZE} ids per nodes query")
        return [self._node(value) for value in ids]

    def allAdverts(self, info, updatedSince=None, first=None, after=None, last=None, before=None, **_):  # noqa: N802, N803
        found, has_next, total = self.catalogue.page_adverts(
            _since(updatedSince, "updatedSince"), _uncursor("advert", after), _page_size(first, last, before)
        )
        return _connection([(p, advert_view(self.catalogue, a)) for p, a in found], "advert", has_next, total)

    def advertsWhere(self, info, first=None, after=None, last=None, before=None, **filters):  # noqa: N802
        """Published, unpublished and deleted adverts by legacy id, SKU or title; nothing without a filter."""
        legacy_ids = set(filters.get("legacyIds") or ())
        skus = set(filters.get("variantSkus") or ())
        title = filters.get("title")
        if not (legacy_ids or skus or title):
            return _connection([], "advertswhere", False, 0)
        matching = [
            a for a in self.catalogue.adverts.values()
            if (not legacy_ids or a.legacy_id in legacy_ids)
            and (not skus or any(v.sku in skus for v in self.catalogue.live_variants(a)))
            and (not title or title.lower() in a.title.lower())
            and a.state in ("online", "offline")  # the connection's nodes are Adverts
        ]
        start = 0 if after is None else (_uncursor("advertswhere", after) or 0) + 1
        size = _page_size(first, last, before)
        page = matching[start:start + size]
        return _connection([(start + i, AdvertView(self.catalogue, a)) for i, a in enumerate(page)],
                           "advertswhere", start + size < len(matching), len(matching))

    def invoices(self, info, first=None, after=None, last=None, before=None, filters=None):
        filters = dict(filters or {})
        for name in ("updatedSince", "updatedUntil"):
            _since(filters.get(name), name)
        page, has_next, total = self.catalogue.page_invoices(filters, _uncursor("invoice", after),
                                                             _page_size(first, last, before))
        return _connection([(inv.legacy_id, invoice_view(self.catalogue, inv)) for inv in page], "invoice",
                           has_next, total)

    def webhooks(self, info, first=None, after=None, last=None, before=None):
        return list_connection([w.view() for w in self.registry.webhooks.values()], first, after, last, before)


class OperatorRoot(QueryRoot):
    """The root of both operation types: every Query field plus the mutations."""

    def webhookCreate(self, info, input: dict):  # noqa: N802, A002
        attributes = input["attributes"]
        errors = _webhook_errors(attributes, creating=True)
        if errors:
            return {"webhook": None, "clientMutationId": input.get("clientMutationId"), "errors": errors, "status": 422}
        webhook = self.registry.create(attributes)
        return {"webhook": webhook.view(), "clientMutationId": input.get("clientMutationId"), "errors": None,
                "status": 200}

    def webhookUpdate(self, info, input: dict):  # noqa: N802, A002
        """Change a webhook's attributes; there is no delete, so `enabled: false` is how one is retired."""
        registry = self.registry
        parsed = parse_global_id(input["webhookId"])
        webhook = registry.webhooks.get(parsed[1]) if parsed and parsed[0] == "Webhook" else None
        if webhook is None:
            return {"webhook": None, "clientMutationId": input.get("clientMutationId"), "status": 404,
                    "errors": [{"field": "webhookId", "messages": ["not found"]}]}
        attributes = input.get("attributes") or {}
        errors = _webhook_errors(attributes, creating=False)
        if errors:
            return {"webhook": None, "clientMutationId": input.get("clientMutationId"), "errors": errors, "status": 422}
        registry.update(webhook, attributes)
        return {"webhook": webhook.view(), "clientMutationId": input.get("clientMutationId"), "errors": None,
                "status": 200}


def _webhook_errors(attributes: dict, *, creating: bool) -> list[dict]:
    errors = []
    url = attributes.get("url")
    if (creating or url is not None) and not str(url or "").startswith(("http://", "https://")):
        errors.append({"field": "url", "messages": ["is not a valid URL"]})
    max_retries = attributes.get("maxRetries")
    if max_retries is not None and not 0 <= max_retries <= 50:
        errors.append({"field": "maxRetries", "messages": ["must be between 0 and 50"]})
    return errors
