"""The simulated shop's records: products with their variants, inventory per location, `sparklayer`
variant metafields and the shop's settings, with seeded generation and the edits a merchant makes. Every
edit returns the webhook topics it fires and the REST-shaped payloads Shopify would send."""

from __future__ import annotations

import itertools
import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
WEIGHT_UNITS = {"GRAMS": "g", "KILOGRAMS": "kg", "OUNCES": "oz", "POUNDS": "lb"}
STATUSES = ("ACTIVE", "ARCHIVED", "DRAFT")
COLOURS = ("Black", "White", "Red", "Blue", "Green")
SIZES = ("S", "M", "L", "XL")


def metafield_problem(kind: str | None, value: str) -> tuple[str, str] | None:
    """(`MetafieldsSetUserErrorCode`, message) when Shopify refuses `value` as a metafield of type `kind`, or
    None. The simulator checks the types the `sparklayer` metafields use and refuses any other as unknown."""
    if kind is None:
        return "BLANK", "Type can't be blank"
    if kind not in METAFIELD_TYPES:
        return "INVALID_TYPE", f"The simulator does not keep metafields of type {kind}"
    try:
        METAFIELD_TYPES[kind](value)
    except (ValueError, ArithmeticError):
        return "INVALID_VALUE", f"Value is not a valid {kind}"
    return None


def _single_line(value: str) -> None:
    if "\n" in value or "\r" in value:
        raise ValueError(value)


def _boolean(value: str) -> None:
    if value not in ("true", "false"):
        raise ValueError(value)


METAFIELD_TYPES: dict[str, Callable[[str], object]] = {
    "single_line_text_field": _single_line, "multi_line_text_field": str, "json": json.loads, "number_integer": int,
    "number_decimal": Decimal, "boolean": _boolean, "date": date.fromisoformat}


def iso(moment: datetime) -> str:
    """Shopify's DateTime: UTC, to the second."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass
class Metafield:
    id: int
    key: str
    type: str
    value: str


@dataclass
class VariantRecord:
    id: int
    product_id: int
    inventory_item_id: int
    sku: str | None
    position: int
    price: str
    compare_at_price: str | None = None
    options: list[tuple[str, str]] = field(default_factory=list)
    image_url: str | None = None
    weight: tuple[str, float] | None = None  # (WeightUnit, value)
    metafields: dict[str, Metafield] = field(default_factory=dict)  # sparklayer namespace, by key
    levels: dict[int, int] = field(default_factory=dict)  # location id -> available
    updated_at: datetime = EPOCH


@dataclass
class ProductRecord:
    id: int
    handle: str
    title: str
    status: str = "ACTIVE"
    vendor: str = "Sandbox"
    tags: list[str] = field(default_factory=list)
    image_url: str | None = None
    variant_ids: list[int] = field(default_factory=list)
    created_at: datetime = EPOCH
    updated_at: datetime = EPOCH


@dataclass
class LocationRecord:
    id: int
    name: str
    active: bool = True


ADDRESS_FIELDS = ("first_name", "last_name", "company", "address1", "address2", "city", "province_code",
                  "country_code", "zip", "phone")
"""A customer address's fields, as the REST payloads name them."""


@dataclass
class CustomerRecord:
    id: int
    email: str | None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    tags: list[str] = field(default_factory=list)
    tax_exempt: bool = False
    addresses: list[dict] = field(default_factory=list)  # ADDRESS_FIELDS, plus their ids
    metafields: dict[str, Metafield] = field(default_factory=dict)  # sparklayer namespace, by key
    created_at: datetime = EPOCH
    updated_at: datetime = EPOCH


@dataclass
class LineItemRecord:
    id: int
    variant_id: int | None
    sku: str | None
    name: str
    quantity: int
    price: str  # the variant's unit price when ordered
    properties: list[tuple[str, str]] = field(default_factory=list)  # `customAttributes`, e.g. Charged Price
    removed: int = 0  # units an order edit took out


@dataclass
class FulfillmentRecord:
    id: int
    created_at: datetime
    items: dict[int, int]  # line item id -> quantity
    tracking: tuple[str | None, str | None, str | None] = (None, None, None)  # company, number, url
    status: str = "SUCCESS"


@dataclass
class RefundRecord:
    id: int
    created_at: datetime
    items: dict[int, tuple[int, str]]  # line item id -> (quantity, RefundLineItemRestockType)
    amount: str = "0.00"


@dataclass
class OrderRecord:
    """An order with its note attributes (`customAttributes`), lines, fulfillments and refunds."""

    id: int
    name: str
    customer_id: int | None
    email: str | None
    currency: str
    lines: list[LineItemRecord]
    attributes: list[tuple[str, str]] = field(default_factory=list)
    note: str | None = None
    tags: list[str] = field(default_factory=list)
    shipping_address: dict | None = None  # ADDRESS_FIELDS
    billing_address: dict | None = None
    fulfillments: list[FulfillmentRecord] = field(default_factory=list)
    refunds: list[RefundRecord] = field(default_factory=list)
    metafields: dict[str, Metafield] = field(default_factory=dict)  # sparklayer namespace, by key
    shipping_title: str | None = None  # the chosen shipping rate
    cancelled_at: datetime | None = None
    created_at: datetime = EPOCH
    updated_at: datetime = EPOCH


@dataclass
class CompanyLocationRecord:
    id: int
    name: str
    external_id: str | None = None
    tax_exempt: bool = False
    catalog_ids: list[int] = field(default_factory=list)  # the B2B catalogs published to the location
    billing_address: dict | None = None  # ADDRESS_FIELDS, with its id
    shipping_address: dict | None = None


@dataclass
class CompanyContactRecord:
    id: int
    customer_id: int
    title: str | None = None
    location_ids: list[int] = field(default_factory=list)  # where the contact has a role


@dataclass
class CompanyRecord:
    """A B2B company: its locations, and its contacts (each a customer of the shop), one of them the main one."""

    id: int
    name: str
    external_id: str | None = None
    locations: dict[int, CompanyLocationRecord] = field(default_factory=dict)
    contacts: dict[int, CompanyContactRecord] = field(default_factory=dict)
    main_contact_id: int | None = None


@dataclass
class PriceListRecord:
    """A B2B catalog's price list: prices relative to the variants' own (`adjustment`: PERCENTAGE_DECREASE or
    PERCENTAGE_INCREASE and a percentage), some fixed per variant, with quantity price breaks."""

    id: int
    name: str
    currency: str
    adjustment: tuple[str, float] = ("PERCENTAGE_DECREASE", 0.0)
    fixed: dict[int, str] = field(default_factory=dict)  # variant id -> price
    breaks: dict[int, list[tuple[int, str]]] = field(default_factory=dict)  # variant id -> [(minimum, price)]


@dataclass
class CatalogRecord:
    id: int
    title: str
    price_list_id: int | None
    status: str = "ACTIVE"
    type: str = "COMPANY_LOCATION"


@dataclass(frozen=True)
class Event:
    """A webhook-worthy change: the topic (e.g. `products/update`) and its REST-shaped payload."""

    topic: str
    payload: dict


class Shop:
    def __init__(self, domain: str = "sandbox.myshopify.com", name: str = "Sandbox Shop", currency: str = "AUD"):
        self.domain = domain
        self.name = name
        self.currency = currency
        self.products: dict[int, ProductRecord] = {}
        self.variants: dict[int, VariantRecord] = {}
        self.items: dict[int, int] = {}  # inventory item id -> variant id
        self.locations: dict[int, LocationRecord] = {}
        self.customers: dict[int, CustomerRecord] = {}
        self.catalogs: dict[int, CatalogRecord] = {}
        self.orders: dict[int, OrderRecord] = {}
        self.companies: dict[int, CompanyRecord] = {}
        self._order_numbers = itertools.count(1001)
        self.price_lists: dict[int, PriceListRecord] = {}
        self.handles: set[str] = set()
        self._ids = itertools.count(1_000_001)
        self._clock = EPOCH
        self.add_location("Main warehouse")

    # ---- time and ids ----

    def now(self) -> datetime:
        """A strictly increasing clock (at least the wall clock), so `updated_at` orders every edit."""
        self._clock = max(self._clock + timedelta(microseconds=1000), datetime.now(UTC).replace(microsecond=0))
        return self._clock

    def next_id(self) -> int:
        return next(self._ids)

    # ---- merchant edits ----

    def add_customer(self, email: str | None, *, first_name: str | None = None, last_name: str | None = None,
                     phone: str | None = None, tags: list[str] | None = None, tax_exempt: bool = False,
                     addresses: list[dict] | None = None, metafields: dict[str, tuple[str, str]] | None = None
                     ) -> tuple[CustomerRecord, list[Event]]:
        """A customer; `addresses` items take ADDRESS_FIELDS, the first is the default; `metafields` are
        `sparklayer` ones, {key: (type, value)}."""
        moment = self.now()
        customer = CustomerRecord(self.next_id(), email, first_name, last_name, phone, list(tags or []), tax_exempt,
                                  created_at=moment, updated_at=moment)
        customer.addresses = [self._address(a) for a in addresses or []]
        for key, (kind, value) in (metafields or {}).items():
            customer.metafields[key] = Metafield(self.next_id(), key, kind, value)
        self.customers[customer.id] = customer
        return customer, [Event("customers/create", self.customer_payload(customer))]

    def update_customer(self, customer_id: int, **fields) -> list[Event]:
        """email, first_name, last_name, phone, tags, tax_exempt, addresses (all of them), metafields
        {key: (type, value) or None}."""
        customer = self.customers[customer_id]
        for name in ("email", "first_name", "last_name", "phone"):
            if name in fields:
                setattr(customer, name, fields[name])
        if "tags" in fields:
            customer.tags = list(fields["tags"])
        if "tax_exempt" in fields:
            customer.tax_exempt = bool(fields["tax_exempt"])
        if "addresses" in fields:
            customer.addresses = [self._address(a) for a in fields["addresses"]]
        metafields = fields.get("metafields") or {}
        for key in [k for k, typed in metafields.items() if typed is None]:
            customer.metafields.pop(key, None)
        self.set_customer_metafields(customer_id, {k: typed for k, typed in metafields.items() if typed is not None})
        customer.updated_at = self.now()
        return [Event("customers/update", self.customer_payload(customer))]

    # ---- orders (a buyer's checkout, the merchant's fulfillments, refunds and cancellations) ----

    def add_order(self, customer_id: int | None, lines: list[dict], *, attributes: list[tuple[str, str]] | None = None,
                  note: str | None = None, tags: list[str] | None = None, shipping_address: dict | None = None,
                  billing_address: dict | None = None, metafields: dict[str, tuple[str, str]] | None = None,
                  shipping_title: str | None = None) -> tuple[OrderRecord, list[Event]]:
        """`lines` items take variant_id, quantity and optionally price (else the variant's) and properties
        [(name, value)]; `metafields` are `sparklayer` ones, {key: (type, value)}."""
        moment = self.now()
        customer = self.customers.get(customer_id) if customer_id is not None else None
        items = []
        for line in lines:
            variant = self.variants[line["variant_id"]]
            product = self.products[variant.product_id]
            items.append(LineItemRecord(self.next_id(), variant.id, variant.sku, product.title, int(line["quantity"]),
                                        str(line.get("price") or variant.price), list(line.get("properties") or [])))
        order = OrderRecord(self.next_id(), f"#{next(self._order_numbers)}", customer_id,
                            customer.email if customer else None, self.currency, items, list(attributes or []), note,
                            list(tags or []), self._address(shipping_address) if shipping_address else None,
                            self._address(billing_address) if billing_address else None, created_at=moment,
                            updated_at=moment)
        for key, (kind, value) in (metafields or {}).items():
            order.metafields[key] = Metafield(self.next_id(), key, kind, value)
        order.shipping_title = shipping_title
        self.orders[order.id] = order
        return order, [Event("orders/create", self.order_payload(order))]

    def fulfill(self, order_id: int, items: dict[int, int], *, company: str | None = None, number: str | None = None,
                url: str | None = None) -> tuple[FulfillmentRecord, list[Event]]:
        """Ship `items` (line item id -> quantity) of the order."""
        order = self.orders[order_id]
        fulfillment = FulfillmentRecord(self.next_id(), self.now(), dict(items), (company, number, url))
        order.fulfillments.append(fulfillment)
        order.updated_at = fulfillment.created_at
        body = {"id": fulfillment.id, "order_id": order.id, "status": "success", "tracking_company": company,
                "tracking_number": number, "line_items": [{"id": i, "quantity": q} for i, q in items.items()]}
        return fulfillment, [Event("fulfillments/create", body), Event("orders/updated", self.order_payload(order))]

    def refund(self, order_id: int, items: dict[int, tuple[int, str]], *, amount: str = "0.00"
               ) -> tuple[RefundRecord, list[Event]]:
        """Refund `items` (line item id -> (quantity, restock type: RETURN, CANCEL, NO_RESTOCK))."""
        order = self.orders[order_id]
        refund = RefundRecord(self.next_id(), self.now(), dict(items), amount)
        order.refunds.append(refund)
        order.updated_at = refund.created_at
        body = {"id": refund.id, "order_id": order.id, "refund_line_items": [
            {"line_item_id": i, "quantity": q, "restock_type": t.lower()} for i, (q, t) in items.items()]}
        return refund, [Event("refunds/create", body), Event("orders/updated", self.order_payload(order))]

    def amend_order(self, order_id: int, *, quantities: dict[int, int] | None = None,
                    add: list[dict] | None = None) -> list[Event]:
        """An order edit: lines set to new quantities (line item id -> units; fewer are removed, more added) and
        new lines [{variant_id, quantity}]; sends orders/edited and orders/updated."""
        order = self.orders[order_id]
        for line_id, wanted in (quantities or {}).items():
            line = next(item for item in order.lines if item.id == line_id)
            now = self.current_quantity(order, line)
            if wanted < now:
                line.removed += now - wanted
            else:
                line.quantity += wanted - now
        for spec in add or []:
            variant = self.variants[spec["variant_id"]]
            order.lines.append(LineItemRecord(self.next_id(), variant.id, variant.sku,
                                              self.products[variant.product_id].title, int(spec["quantity"]),
                                              variant.price))
        order.updated_at = self.now()
        payload = self.order_payload(order)
        return [Event("orders/edited", {"order_edit": {"order_id": order.id}}), Event("orders/updated", payload)]

    def current_quantity(self, order: OrderRecord, line: LineItemRecord) -> int:
        """`LineItem.currentQuantity`: the units ordered less those removed, by an edit or a refund."""
        refunded = sum(q for refund in order.refunds for i, (q, _) in refund.items.items() if i == line.id)
        return line.quantity - line.removed - refunded

    def cancel_order(self, order_id: int) -> list[Event]:
        order = self.orders[order_id]
        order.cancelled_at = order.updated_at = self.now()
        return [Event("orders/cancelled", self.order_payload(order))]

    def order_payload(self, order: OrderRecord) -> dict:
        return {"id": order.id, "name": order.name, "email": order.email, "currency": order.currency,
                "note": order.note, "tags": ", ".join(order.tags),
                "note_attributes": [{"name": k, "value": v} for k, v in order.attributes],
                "cancelled_at": iso(order.cancelled_at) if order.cancelled_at else None,
                "created_at": iso(order.created_at), "updated_at": iso(order.updated_at),
                "admin_graphql_api_id": f"gid://shopify/Order/{order.id}",
                "customer": {"id": order.customer_id} if order.customer_id else None,
                "line_items": [{"id": line.id, "variant_id": line.variant_id, "sku": line.sku, "quantity": line.quantity,
                                "price": line.price, "properties": [{"name": k, "value": v} for k, v in line.properties]}
                               for line in order.lines]}

    # ---- B2B companies ----

    def add_company(self, name: str, *, external_id: str | None = None, locations: list[dict] | None = None,
                    contacts: list[dict] | None = None) -> tuple[CompanyRecord, list[Event]]:
        """`locations` items take name, external_id, tax_exempt, catalogs (catalog ids) and billing_address and
        shipping_address (ADDRESS_FIELDS); `contacts` items take customer_id, title,
        locations (their names) and main (the first contact is the main one unless another says so). Each
        contact's customer is updated (customers/update), and companies/create and company_contacts/create are
        sent. Company payloads carry `admin_graphql_api_id`, as Shopify's REST-shaped payloads do; the rest of
        their shape is not published, so the simulator sends little else."""
        company = CompanyRecord(self.next_id(), name, external_id)
        for spec in locations or [{"name": name}]:
            location = CompanyLocationRecord(
                self.next_id(), spec["name"], spec.get("external_id"), bool(spec.get("tax_exempt")),
                list(spec.get("catalogs") or []),
                *(self._address(spec[key]) if spec.get(key) else None for key in ("billing_address", "shipping_address")))
            company.locations[location.id] = location
        by_name = {loc.name: loc.id for loc in company.locations.values()}
        events: list[Event] = []
        for n, spec in enumerate(contacts or []):
            customer = self.customers[spec["customer_id"]]
            contact = CompanyContactRecord(self.next_id(), customer.id, spec.get("title"),
                                           [by_name[loc] for loc in spec.get("locations") or list(by_name)[:1]])
            company.contacts[contact.id] = contact
            if spec.get("main") or (n == 0 and not any(c.get("main") for c in contacts or [])):
                company.main_contact_id = contact.id
            customer.updated_at = self.now()
            events += [Event("customers/update", self.customer_payload(customer)),
                       Event("company_contacts/create", self._b2b_payload("CompanyContact", contact.id))]
        self.companies[company.id] = company
        return company, [Event("companies/create", self._b2b_payload("Company", company.id, name=name)), *events]

    def update_company(self, company_id: int, **fields) -> list[Event]:
        """name, external_id; sends companies/update."""
        company = self.companies[company_id]
        for name in ("name", "external_id"):
            if name in fields:
                setattr(company, name, fields[name])
        return [Event("companies/update", self._b2b_payload("Company", company.id, name=company.name))]

    def update_company_location(self, location_id: int, **fields) -> list[Event]:
        """external_id, tax_exempt, catalogs; sends company_locations/update."""
        location = next(c.locations[location_id] for c in self.companies.values() if location_id in c.locations)
        for name in ("external_id", "tax_exempt"):
            if name in fields:
                setattr(location, name, fields[name])
        if "catalogs" in fields:
            location.catalog_ids = list(fields["catalogs"])
        return [Event("company_locations/update", self._b2b_payload("CompanyLocation", location.id))]

    def _b2b_payload(self, kind: str, number: int, **fields) -> dict:
        return {"admin_graphql_api_id": f"gid://shopify/{kind}/{number}", **fields, "updated_at": iso(self.now())}

    def contact_profiles(self, customer_id: int) -> list[tuple[CompanyRecord, CompanyContactRecord]]:
        return [(company, contact) for company in self.companies.values() for contact in company.contacts.values()
                if contact.customer_id == customer_id]

    def customer_by_email(self, email: str) -> CustomerRecord | None:
        wanted = email.strip().lower()
        return next((c for c in self.customers.values() if (c.email or "").lower() == wanted), None)

    def set_customer_metafields(self, customer_id: int, metafields: dict[str, tuple[str, str]]) -> None:
        """`metafieldsSet` on a customer: no webhook (Shopify does not say one fires, shopify-api.md §7)."""
        customer = self.customers[customer_id]
        for key, (kind, value) in metafields.items():
            known = customer.metafields.get(key)
            customer.metafields[key] = Metafield(known.id if known else self.next_id(), key, kind, value)

    def delete_customer(self, customer_id: int) -> list[Event]:
        self.customers.pop(customer_id)
        return [Event("customers/delete", {"id": customer_id})]

    def _address(self, fields: dict) -> dict:
        unknown = set(fields) - set(ADDRESS_FIELDS)
        if unknown:
            raise ValueError(f"unknown address fields: {', '.join(sorted(unknown))}")
        return {"id": self.next_id(), **{name: fields.get(name) for name in ADDRESS_FIELDS}}

    def add_catalog(self, title: str, *, currency: str | None = None, decrease_percent: float = 0.0,
                    fixed: dict[int, str] | None = None, breaks: dict[int, list[tuple[int, str]]] | None = None,
                    status: str = "ACTIVE") -> CatalogRecord:
        """A B2B (company location) catalog with its price list: every variant at `decrease_percent` off its
        own price, except the `fixed` ones, with quantity `breaks`. Catalogs fire no webhooks (2025-01)."""
        price_list = PriceListRecord(self.next_id(), f"{title} prices", currency or self.currency,
                                     ("PERCENTAGE_DECREASE", decrease_percent), dict(fixed or {}), dict(breaks or {}))
        self.price_lists[price_list.id] = price_list
        catalog = CatalogRecord(self.next_id(), title, price_list.id, status)
        self.catalogs[catalog.id] = catalog
        return catalog

    def list_price(self, price_list: PriceListRecord, variant: VariantRecord) -> tuple[str, str]:
        """(price, origin type) of a variant on a price list."""
        if variant.id in price_list.fixed:
            return price_list.fixed[variant.id], "FIXED"
        kind, percent = price_list.adjustment
        factor = 1 - percent / 100 if kind == "PERCENTAGE_DECREASE" else 1 + percent / 100
        return f"{float(variant.price) * factor:.2f}", "RELATIVE"

    def add_location(self, name: str) -> int:
        location = LocationRecord(self.next_id(), name)
        self.locations[location.id] = location
        return location.id

    def add_product(self, title: str, variants: list[dict], *, status: str = "ACTIVE", handle: str | None = None,
                    image_url: str | None = None) -> tuple[ProductRecord, list[Event]]:
        """`variants` items take sku, price, compare_at_price, options [(name, value)], image_url, weight
        (unit, value), metafields {key: (type, value)} and stock {location id: available} (the first
        location when given as a number)."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}")
        moment = self.now()
        product = ProductRecord(self.next_id(), handle or _handle(title, self.handles), title, status,
                                image_url=image_url, created_at=moment, updated_at=moment)
        self.handles.add(product.handle)
        self.products[product.id] = product
        for fields in variants or [{"sku": f"SKU-{product.id}", "price": "10.00"}]:
            self._new_variant(product, fields, moment)
        return product, [Event("products/create", self.product_payload(product))]

    def _new_variant(self, product: ProductRecord, fields: dict, moment: datetime) -> VariantRecord:
        variant = VariantRecord(
            id=self.next_id(), product_id=product.id, inventory_item_id=self.next_id(), sku=fields.get("sku"),
            position=len(product.variant_ids) + 1, price=str(fields.get("price", "10.00")),
            compare_at_price=fields.get("compare_at_price"),
            options=[tuple(o) for o in fields.get("options") or []] or [("Title", "Default Title")],
            image_url=fields.get("image_url"), weight=tuple(fields["weight"]) if fields.get("weight") else None,
            updated_at=moment,
        )
        for key, (kind, value) in (fields.get("metafields") or {}).items():
            variant.metafields[key] = Metafield(self.next_id(), key, kind, str(value))
        stock = fields.get("stock", 0)
        variant.levels = ({int(k): int(v) for k, v in stock.items()} if isinstance(stock, dict)
                          else {next(iter(self.locations)): int(stock)})
        self.variants[variant.id] = variant
        self.items[variant.inventory_item_id] = variant.id
        product.variant_ids.append(variant.id)
        return variant

    def add_variant(self, product_id: int, **fields) -> tuple[VariantRecord, list[Event]]:
        product = self.products[product_id]
        moment = self.now()
        variant = self._new_variant(product, fields, moment)
        product.updated_at = moment
        return variant, [Event("products/update", self.product_payload(product))]

    def update_product(self, product_id: int, **fields) -> list[Event]:
        """title, handle, status, image_url."""
        product = self.products[product_id]
        if fields.get("status") is not None and fields["status"] not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}")
        for name in ("title", "handle", "status", "image_url"):
            if fields.get(name) is not None:
                setattr(product, name, fields[name])
        product.updated_at = self.now()
        return [Event("products/update", self.product_payload(product))]

    def update_variant(self, variant_id: int, **fields) -> list[Event]:
        """sku, price, compare_at_price, options, image_url, weight, metafields {key: (type, value) or None}."""
        variant = self.variants[variant_id]
        for name in ("sku", "price", "compare_at_price", "image_url"):
            if name in fields:
                setattr(variant, name, None if fields[name] is None else str(fields[name]))
        if "options" in fields:
            variant.options = [tuple(o) for o in fields["options"]]
        if "weight" in fields:
            variant.weight = tuple(fields["weight"]) if fields["weight"] else None
        for key, typed in (fields.get("metafields") or {}).items():
            if typed is None:
                variant.metafields.pop(key, None)
            else:
                variant.metafields[key] = Metafield(self.next_id(), key, typed[0], str(typed[1]))
        moment = self.now()
        variant.updated_at = moment
        product = self.products[variant.product_id]
        product.updated_at = moment
        return [Event("products/update", self.product_payload(product))]

    def set_stock(self, variant_id: int, available: int, location_id: int | None = None) -> list[Event]:
        variant = self.variants[variant_id]
        location = location_id or next(iter(self.locations))
        if location not in self.locations:
            raise KeyError(f"no location {location}")
        variant.levels[location] = int(available)
        return [Event("inventory_levels/update", {
            "inventory_item_id": variant.inventory_item_id, "location_id": location, "available": int(available),
            "updated_at": iso(self.now()), "admin_graphql_api_id":
                f"gid://shopify/InventoryLevel/{variant.inventory_item_id}?inventory_item_id={location}",
        })]

    def delete_product(self, product_id: int) -> list[Event]:
        product = self.products.pop(product_id)
        self.handles.discard(product.handle)
        for variant_id in product.variant_ids:
            variant = self.variants.pop(variant_id)
            self.items.pop(variant.inventory_item_id, None)
        return [Event("products/delete", {"id": product_id})]

    def delete_variant(self, variant_id: int) -> list[Event]:
        variant = self.variants.pop(variant_id)
        self.items.pop(variant.inventory_item_id, None)
        product = self.products[variant.product_id]
        product.variant_ids.remove(variant_id)
        for position, other in enumerate(product.variant_ids, start=1):
            self.variants[other].position = position
        product.updated_at = self.now()
        return [Event("products/update", self.product_payload(product))]

    def set_currency(self, currency: str) -> list[Event]:
        if not re.fullmatch(r"[A-Z]{3}", currency):
            raise ValueError("currency must be a three-letter ISO 4217 code")
        self.currency = currency
        return [Event("shop/update", self.shop_payload())]

    # ---- generation ----

    def generate(self, size: int, *, seed: int = 1, broken_rate: float = 0.01, locations: int = 2) -> dict:
        """`size` seeded products of one to four variants, stock at `locations` locations, some with
        `sparklayer` metafields, about `broken_rate` of the variants without a SKU."""
        rng = random.Random(seed)
        while len(self.locations) < locations:
            self.add_location(f"Store {len(self.locations)}")
        location_ids = list(self.locations)
        variants = broken = 0
        for n in range(size):
            count = rng.choice((1, 1, 2, 3, 4))
            fields = []
            for v in range(count):
                options = ([("Colour", COLOURS[v % len(COLOURS)]), ("Size", rng.choice(SIZES))] if count > 1
                           else [("Title", "Default Title")])
                no_sku = rng.random() < broken_rate
                broken += no_sku
                metafields = {}
                if rng.random() < 0.2:
                    metafields["pack_size"] = ("number_integer", str(rng.choice((2, 6, 12))))
                if rng.random() < 0.1:
                    metafields["rrp"] = ("number_decimal", f"{rng.randint(20, 300)}.95")
                fields.append({
                    "sku": None if no_sku else f"SH-{seed}-{n}-{v}",
                    "price": f"{rng.randint(5, 200)}.{rng.choice(('00', '50', '95'))}",
                    "compare_at_price": f"{rng.randint(201, 400)}.00" if rng.random() < 0.1 else None,
                    "options": options, "weight": (rng.choice(list(WEIGHT_UNITS)), round(rng.uniform(0.1, 5), 2)),
                    "metafields": metafields, "stock": {loc: rng.randint(0, 50) for loc in location_ids},
                    "image_url": f"https://cdn.shopify.example/{seed}/{n}-{v}.jpg" if rng.random() < 0.5 else None,
                })
            variants += count
            status = "ACTIVE" if rng.random() < 0.9 else rng.choice(("ARCHIVED", "DRAFT"))
            self.add_product(f"Sandbox product {seed}-{n}", fields, status=status,
                             image_url=f"https://cdn.shopify.example/{seed}/{n}.jpg")
        return {"products": size, "variants": variants, "variants_without_sku": broken, "locations": len(location_ids)}

    # ---- REST-shaped webhook payloads ----

    def product_payload(self, product: ProductRecord) -> dict:
        variants = [self.variants[v] for v in product.variant_ids]
        return {
            "id": product.id, "title": product.title, "handle": product.handle, "status": product.status.lower(),
            "updated_at": iso(product.updated_at), "admin_graphql_api_id": f"gid://shopify/Product/{product.id}",
            "variants": [{"id": v.id, "product_id": product.id, "sku": v.sku or "", "price": v.price,
                          "position": v.position, "inventory_item_id": v.inventory_item_id,
                          "admin_graphql_api_id": f"gid://shopify/ProductVariant/{v.id}"} for v in variants],
        }

    def customer_payload(self, customer: CustomerRecord) -> dict:
        return {
            "id": customer.id, "email": customer.email, "first_name": customer.first_name,
            "last_name": customer.last_name, "phone": customer.phone, "tags": ", ".join(customer.tags),
            "tax_exempt": customer.tax_exempt, "created_at": iso(customer.created_at),
            "updated_at": iso(customer.updated_at), "admin_graphql_api_id": f"gid://shopify/Customer/{customer.id}",
            "addresses": [{**a, "customer_id": customer.id, "default": n == 0} for n, a in enumerate(customer.addresses)],
        }

    def shop_payload(self) -> dict:
        return {"id": 1, "name": self.name, "domain": self.domain, "myshopify_domain": self.domain,
                "currency": self.currency}


def _handle(title: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "product"
    handle, n = base, 1
    while handle in taken:
        n += 1
        handle = f"{base}-{n}"
    return handle
