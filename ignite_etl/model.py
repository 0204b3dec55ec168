"""Canonical records every platform maps to, so the rest of the system never sees a platform's own shape.

Field names follow what SparkLayer needs (the data-sync and purchasing seeds); nothing here knows
which platform a record came from.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

RecordStatus = Literal["live", "discontinued"]


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VariantOption(Record):
    """One option of a variant, e.g. name "Colour", value "Red"."""

    name: str
    value: str


class Money(Record):
    currency: str = Field(pattern="^[A-Z]{3}$")
    amount: Decimal


class VariantSetting(Record):
    """SparkLayer's per-customer-group ordering rules of a variant."""

    customer_group: str = Field(min_length=1)
    minimum_order_quantity: int | None = Field(default=None, ge=1)
    maximum_order_quantity: int | None = Field(default=None, ge=1)
    order_increment: int | None = Field(default=None, ge=1)


class Variant(Record):
    external_id: str
    product_external_id: str
    sku: str
    barcode: str | None = None
    weight_in_grams: int | None = None
    position: int = Field(ge=0)
    options: tuple[VariantOption, ...] = ()
    status: RecordStatus = "live"
    cart_image_url: str | None = None
    rrp: tuple[Money, ...] = ()
    settings: tuple[VariantSetting, ...] = ()

    def options_dict(self) -> dict[str, str]:
        return {option.name: option.value for option in self.options}


class Product(Record):
    """`title` and `slug` are None when the platform no longer reports them (a deleted product):
    keep the last known ones."""

    external_id: str
    title: str | None
    slug: str | None
    status: RecordStatus = "live"
    variants: tuple[Variant, ...] = ()
    visible_id: str | None = None
    updated_at: datetime | None = None


class StockLevel(Record):
    sku: str
    location_external_id: str
    stock_level: int
    restock_date: date | None = None
    min_stock_level: int | None = None


class StockLocation(Record):
    """Where a platform keeps stock; SparkLayer holds a location of the same external id."""

    external_id: str = Field(min_length=1)
    name: str = Field(min_length=1)


class PriceList(Record):
    """A price list of the store's beside the platform's own (e.g. a Shopify B2B catalog's): SparkLayer holds a
    list of the same slug."""

    slug: str = Field(min_length=1, pattern=r"^[a-z0-9-]+$")
    name: str = Field(min_length=1)
    currency: str = Field(pattern="^[A-Z]{3}$")


class Price(Record):
    """The unit price of a SKU from `quantity` upwards; `price_list_slug` None means the platform's list."""

    sku: str
    price_list_slug: str | None = None
    quantity: int = Field(default=1, ge=1)
    price: Decimal
    currency: str = Field(min_length=3, max_length=3)


class Address(Record):
    external_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company_name: str | None = None
    line_1: str | None = None
    line_2: str | None = None
    city: str | None = None
    region: str | None = None
    postcode: str | None = None
    country_code: str | None = None
    phone: str | None = None


class PaymentOnAccount(Record):
    """A customer's credit with the merchant (SparkLayer's `payment_on_account`)."""

    credit_limit: Decimal | None = Field(default=None, ge=0)
    balance: Decimal | None = None
    currency_code: str | None = Field(default=None, pattern="^[A-Z]{3}$")
    net_terms: int | None = Field(default=None, ge=0)


class RecordProblem(Record):
    """A permanent problem with one record: reported to the sync log, never raised."""

    entity: str
    external_id: str
    message: str
    resolution: str
    external_url: str | None = None
    visible_id: str | None = None


class Customer(Record):
    external_id: str
    email: str
    first_name: str | None = None
    last_name: str | None = None
    company_name: str | None = None
    phone: str | None = None
    addresses: tuple[Address, ...] = ()
    group: str | None = None
    accounting_id: str | None = None
    title: str | None = None
    tax_exempt: bool | None = None
    price_lists: tuple[str, ...] | None = None
    payment_on_account: PaymentOnAccount | None = None
    discount_percentage: Decimal | None = Field(default=None, ge=0, le=100)
    parent_customer_id: str | None = None  # the external id of the customer this one buys under
    updated_at: datetime | None = None
    problems: tuple[RecordProblem, ...] = ()
    """Fields left None are not the platform's: SparkLayer keeps what the merchant set there. `problems`: fields
    the platform gave that could not be read (left None): each is reported, and the rest of the customer syncs."""


CustomerRole = Literal["main", "limited-customer"]


class CustomerRequest(Record):
    """A customer SparkLayer asks the platform to create or update (Ignite's `PUT …/customers`): the
    platform keeps what it can and answers with its external id. Fields SparkLayer adds later are ignored,
    not refused."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    email: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    first_name: str = Field(min_length=1, max_length=255)
    last_name: str = Field(min_length=1, max_length=255)
    company_name: str | None = Field(default=None, max_length=255)
    sales_agent_groups: tuple[str, ...] = ()
    price_lists: tuple[str, ...] = ()
    customer_discount_percentage: Decimal | None = Field(default=None, ge=0, le=100)
    group: str | None = Field(default=None, max_length=255)
    role: CustomerRole | None = None


class OrderLine(Record):
    external_id: str
    sku: str | None = None
    variant_external_id: str | None = None
    name: str | None = None
    quantity: int = Field(ge=0)
    unit_price: Decimal | None = None


class PackageItem(Record):
    """A quantity of one order line inside a shipment, refund or cancellation."""

    line_external_id: str
    quantity: int = Field(ge=1)


class RefundItem(PackageItem):
    """`dispatched`: the refunded units had shipped (they leave their shipment for the refund)."""

    dispatched: bool = False


class Shipment(Record):
    external_id: str
    items: tuple[PackageItem, ...]
    shipped_at: datetime | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None


class Refund(Record):
    external_id: str
    items: tuple[RefundItem, ...]
    refunded_at: datetime | None = None
    amount: Decimal | None = None


class Cancellation(Record):
    external_id: str
    items: tuple[PackageItem, ...]
    cancelled_at: datetime | None = None


class Order(Record):
    """One purchase: lines not yet shipped, refunded or cancelled are still processing."""

    external_id: str
    visible_id: str | None = None
    sparklayer_id: str | None = None
    customer_email: str | None = None
    customer: Customer | None = None
    currency: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    shipping_address: Address | None = None
    billing_address: Address | None = None
    lines: tuple[OrderLine, ...] = ()
    shipments: tuple[Shipment, ...] = ()
    refunds: tuple[Refund, ...] = ()
    cancellations: tuple[Cancellation, ...] = ()
    unreadable: str | None = None
    """Why the platform could not read the whole order: it is reported to the merchant, not sent in part."""
    shipping_method: str | None = None
    """How the order is to be shipped (the processing package's shipping method)."""
    imported: bool = False
    """An order placed elsewhere that the merchant marked for SparkLayer: sent without a cart id, found by its
    platform id."""

    def net_shipments(self) -> tuple[Shipment, ...]:
        """Shipments without the units later refunded (a dispatched refund takes them from the latest
        shipments of their line first), so that every unit sits in exactly one package."""
        taken: dict[str, int] = {}
        for refund in self.refunds:
            for refunded in refund.items:
                if refunded.dispatched:
                    taken[refunded.line_external_id] = taken.get(refunded.line_external_id, 0) + refunded.quantity
        net = []
        for shipment in reversed(self.shipments):
            items = []
            for item in shipment.items:
                take = min(item.quantity, taken.get(item.line_external_id, 0))
                taken[item.line_external_id] = taken.get(item.line_external_id, 0) - take
                if item.quantity - take > 0:
                    items.append(item.model_copy(update={"quantity": item.quantity - take}))
            net.append(shipment.model_copy(update={"items": tuple(items)}))
        return tuple(reversed(net))

    def processing_quantities(self) -> dict[str, int]:
        """Per line, the quantity not yet in any (net) shipment, refund or cancellation."""
        left = {line.external_id: line.quantity for line in self.lines}
        packages: list[Shipment | Refund | Cancellation] = [*self.net_shipments(), *self.refunds, *self.cancellations]
        for package in packages:
            for item in package.items:
                if item.line_external_id in left:
                    left[item.line_external_id] = max(0, left[item.line_external_id] - item.quantity)
        return left


class StoreSettings(Record):
    base_currency: str = Field(min_length=3, max_length=3, pattern="^[A-Z]{3}$")


class CataloguePage(Record):
    """One page of a platform's catalogue: products with their variants, stock, prices and problems.

    `missing_ids` lists ids a re-fetch asked for that the platform no longer knows at all.
    """

    products: tuple[Product, ...] = ()
    stock_levels: tuple[StockLevel, ...] = ()
    prices: tuple[Price, ...] = ()
    problems: tuple[RecordProblem, ...] = ()
    missing_ids: tuple[str, ...] = ()

    @property
    def updated_until(self) -> datetime | None:
        """The newest `updated_at` on the page: the next incremental extraction starts here."""
        stamps = [product.updated_at for product in self.products if product.updated_at]
        return max(stamps) if stamps else None


WebhookObjectType = Literal["product", "variant", "stock", "customer", "order", "settings", "uninstalled", "other"]


class WebhookEvent(Record):
    """A verified platform webhook: a hint that one object changed, to be re-fetched."""

    object_type: WebhookObjectType
    platform_type: str
    object_id: str
    event_name: str
    sequence: int | None = None
    idempotency_key: str
    """Names the event from signed content only (never from an unsigned header), so a captured delivery
    replayed under new headers is recognised as the same event."""
    event_id: str | None = None
