"""Typed bodies of SparkLayer requests and answers, with the field lists of the seeds.

Request models forbid unknown fields so a typo fails here rather than at SparkLayer; answer models
ignore fields they do not know. Optional fields left as None are not sent (`to_body`), except on
full-replacement bodies (customers, purchases) where the caller states every field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, field_validator, model_validator

from ignite_etl.sparklayer.endpoints import MAX_SYNC_LOG_ERRORS

Amount = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]
"""A decimal amount sent to SparkLayer as a JSON number."""

VariantStatus = Literal["pending", "live", "suspended", "discontinued"]
CustomerRole = Literal["main", "limited-customer", "sales-agent", "sales-admin"]
PurchaseType = Literal["quote", "cart", "awaiting_approval", "order_unconfirmed", "order"]
PackageType = Literal["processing", "shipment", "refund", "cancelled"]
PurchaseLookup = Literal["sparklayer", "platform", "internal", "visible"]
SyncDataType = Literal["products", "customers", "stock", "purchases"]


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def to_body(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class AnswerModel(BaseModel):
    model_config = ConfigDict(extra="ignore")


# --- auth -----------------------------------------------------------------------------------


class TokenAnswer(AnswerModel):
    access_token: str
    expires_in: int = 3600


# --- products -------------------------------------------------------------------------------


class Money(RequestModel):
    currency_code: str = Field(pattern=r"^[A-Z]{3}$")
    price: Amount


class VariantOption(RequestModel):
    group: str
    value: str


class VariantSetting(RequestModel):
    customer_group: str
    minimum_order_quantity: int | None = None
    maximum_order_quantity: int | None = None
    order_increment: int | None = None


class Variant(RequestModel):
    external_id: str
    sku: str | None = None
    weight_in_grams: float | None = None
    position: int | None = None
    cart_image_url: str | None = None
    options: list[VariantOption] | None = None
    status: VariantStatus = "live"
    rrp: list[Money] | None = None
    settings: list[VariantSetting] | None = None


class Product(RequestModel):
    """A product with its variants, as `POST /api/v1/products` creates it."""

    external_id: str
    title: str
    slug: str
    variants: list[Variant] = Field(min_length=1)


class ProductChanges(RequestModel):
    """Fields of a product to change; `variants` adds or updates the variants listed."""

    title: str | None = None
    slug: str | None = None
    variants: list[Variant] | None = None


class VariantChanges(RequestModel):
    """Fields of a variant to change; `status="discontinued"` discontinues it."""

    sku: str | None = None
    weight_in_grams: float | None = None
    position: int | None = None
    cart_image_url: str | None = None
    options: list[VariantOption] | None = None
    status: VariantStatus | None = None
    rrp: list[Money] | None = None
    settings: list[VariantSetting] | None = None


# --- stock and pricing ---------------------------------------------------------------------


class StockLevel(RequestModel):
    sku: str
    stock_location_external_id: str
    stock_level: int
    restock_date: date | None = None
    min_stock_level: int | None = None

    @property
    def key(self) -> str:
        return f"{self.sku}@{self.stock_location_external_id}"


class StockLocation(RequestModel):
    name: str = Field(min_length=1)
    external_id: str = Field(min_length=1)


class PriceList(RequestModel):
    slug: str
    name: str
    currency_code: str = Field(pattern=r"^[A-Z]{3}$")
    tax_inclusive_display: bool | None = None


class PriceBreak(RequestModel):
    quantity: int = Field(ge=1)
    price: Amount


class SkuPricing(RequestModel):
    """Every price break of one SKU on one price list; sending it replaces that SKU's prices."""

    sku: str
    pricing: list[PriceBreak] = Field(min_length=1)
    display_tax_rate: Amount | None = None

    @property
    def key(self) -> str:
        return self.sku


# --- customers ------------------------------------------------------------------------------


class Address(RequestModel):
    """A customer's or a purchase's address, with the field names of SparkLayer's own platform mapping
    (`address_line1`, `region_code`, ...; CONTRACTS.md)."""

    external_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    address_line1: str = Field(min_length=1)
    address_line2: str | None = None
    city: str | None = None
    region_code: str | None = None
    postcode: str | None = None
    country_code: str = Field(pattern=r"^[A-Z]{2}$")
    phone: str | None = None



class PaymentOnAccount(RequestModel):
    balance: Amount | None = None
    balance_date: date | None = None
    credit_limit: Amount | None = None
    currency_code: str | None = None
    net_terms: int | None = None


class Customer(RequestModel):
    """A customer as the v2 PUT takes it. SparkLayer replaces the stored customer with the body, clearing
    every field left out, so the client sends this merged into the stored customer (`merge_customer`):
    fields left None here are the merchant's, kept as SparkLayer has them."""

    id: str | None = None
    external_id: str
    email: str
    first_name: str
    last_name: str
    title: str | None = None
    company_name: str | None = None
    status: Literal["active", "inactive"] | None = None
    group: str | None = None
    role: CustomerRole | None = None
    accounting_id: str | None = None
    currency_code: str | None = None
    sales_agent_groups: list[str] | None = None
    price_lists: list[str] | None = None
    discount_percentage: Amount | None = None
    tax_exempt: bool | None = None
    payment_on_account: PaymentOnAccount | None = None
    parent_customer_id: str | None = None
    addresses: list[Address] | None = None


def merge_customer(ours: dict[str, Any], stored: dict[str, Any] | None) -> dict[str, Any]:
    """The PUT body that changes what the platform owns (`ours`: only the fields the platform gives) and
    keeps the rest of the `stored` customer. Addresses with an external id are the platform's (ours
    replace them); addresses without one were added in SparkLayer and are kept."""
    if not stored:
        return dict(ours)
    writable = set(Customer.model_fields)
    merged = {k: v for k, v in stored.items() if k in writable and v is not None}
    merged.pop("addresses", None)
    merged.update(ours)
    if "addresses" in ours:
        theirs = [_address_body(a) for a in stored.get("addresses") or [] if isinstance(a, dict) and not a.get("external_id")]
        merged["addresses"] = list(ours["addresses"]) + [a for a in theirs if a]
    elif stored.get("addresses"):
        merged["addresses"] = [a for a in (_address_body(a) for a in stored["addresses"]) if a]
    return merged


def _address_body(stored: dict[str, Any]) -> dict[str, Any] | None:
    fields = {k: v for k, v in stored.items() if k in Address.model_fields and v is not None}
    return fields if fields.get("address_line1") and fields.get("country_code") else None


# --- settings -------------------------------------------------------------------------------


class Setting(RequestModel):
    key: str
    value: Any = None

    def to_body(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


# --- purchases ------------------------------------------------------------------------------


class PurchaseIdentifiers(RequestModel):
    sparklayer: str | None = None
    platform: str | None = None
    internal: str | None = None
    visible: str | None = None


class LineItem(RequestModel):
    sku: str
    name: str | None = None
    quantity: int = Field(ge=1)
    price: Amount


class Package(RequestModel):
    type: PackageType
    line_items: list[LineItem] = Field(min_length=1)
    created_at: datetime | None = None
    shipped_at: datetime | None = None
    tracking_number: str | None = None
    shipping_method: str | None = None
    shipping_address: Address | None = None


class PurchaseCustomer(RequestModel):
    external_id: str | None = None
    email: str | None = None


class Purchase(RequestModel):
    """The whole purchase (calculated fields such as totals are never sent)."""

    type: PurchaseType = "order"
    purchase_identifiers: PurchaseIdentifiers
    currency_code: str = Field(pattern=r"^[A-Z]{3}$")
    customer: PurchaseCustomer | None = None
    created_at: datetime | None = None
    billing_address: Address | None = None
    packages: list[Package] = Field(min_length=1)

    def identifier(self, lookup_by: str) -> str | None:
        return getattr(self.purchase_identifiers, lookup_by)


# --- sync log -------------------------------------------------------------------------------


class SyncLogError(RequestModel):
    external_id: str
    external_url: str | None = None
    visible_id: str | None = None
    message: str
    resolution: str | None = None


def check_sync_log_errors(errors: list[SyncLogError]) -> list[SyncLogError]:
    """At most 5,000 errors, each external_id once (SparkLayer answers 400 otherwise)."""
    if len(errors) > MAX_SYNC_LOG_ERRORS:
        raise ValueError(f"a sync log takes at most {MAX_SYNC_LOG_ERRORS} errors, got {len(errors)}")
    seen: set[str] = set()
    for error in errors:
        if error.external_id in seen:
            raise ValueError(f"external_id {error.external_id!r} appears twice; each error needs its own")
        seen.add(error.external_id)
    return errors


class FullSyncLog(RequestModel):
    """`PUT` body: replaces every earlier error and clears a timestamp left out."""

    started_full_sync: datetime | None = None
    last_full_sync: datetime | None = None
    last_full_sync_succeeded: bool | None = None
    errors: list[SyncLogError] = Field(default_factory=list)

    @field_validator("errors")
    @classmethod
    def _errors_fit_the_log(cls, errors: list[SyncLogError]) -> list[SyncLogError]:
        return check_sync_log_errors(errors)


class PartialSyncLog(RequestModel):
    """`PATCH` body: keeps earlier errors, adds `errors`, removes `resolved_external_ids`."""

    last_partial_sync: datetime | None = None
    last_full_sync: datetime | None = None
    last_full_sync_succeeded: bool | None = None
    errors: list[SyncLogError] = Field(default_factory=list)
    resolved_external_ids: list[str] = Field(default_factory=list)

    @field_validator("errors")
    @classmethod
    def _errors_fit_the_log(cls, errors: list[SyncLogError]) -> list[SyncLogError]:
        return check_sync_log_errors(errors)

    @model_validator(mode="after")
    def _resolved_are_not_new_errors(self) -> PartialSyncLog:
        clash = {e.external_id for e in self.errors} & set(self.resolved_external_ids)
        if clash:
            raise ValueError(f"external ids both failed and resolved in one patch: {sorted(clash)}")
        return self


class SyncLogStatus(AnswerModel):
    started_full_sync: datetime | None = None
    last_full_sync: datetime | None = None
    last_partial_sync: datetime | None = None
    last_full_sync_succeeded: bool | None = None
    error_count: int = 0
    errors: list[dict[str, Any]] = Field(default_factory=list)


# --- outcomes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class WriteResult:
    """What happened to one record of a bulk call; results come back in the order sent."""

    external_id: str
    ok: bool
    sparklayer_id: str | None = None
    status_code: int | None = None
    error_message: str | None = None
