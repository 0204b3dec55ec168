"""The request bodies the simulated SparkLayer accepts, written independently of the client's
models so the two check each other. Validation is strict: JSON types must match exactly and
fields SparkLayer does not document are refused (that last part is the sandbox's own strictness)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

Number = float  # strict mode still accepts a JSON integer here
Currency = str


def _not_prefixed(reserved_prefix: str):
    """An external id may not look like a SparkLayer id (`pp_`, `pv_`, `cu_`)."""

    def check(value: str) -> str:
        if value.startswith(reserved_prefix):
            raise ValueError(f"an external_id must not start with {reserved_prefix!r}")
        return value

    return AfterValidator(check)


ProductExternalId = Annotated[str, Field(min_length=1), _not_prefixed("pp_")]
VariantExternalId = Annotated[str, Field(min_length=1), _not_prefixed("pv_")]
CustomerExternalId = Annotated[str, Field(min_length=1), _not_prefixed("cu_")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class TokenIn(Strict):
    grant_type: Literal["client_credentials"]
    client_id: str
    client_secret: str


class MoneyIn(Strict):
    currency_code: Currency = Field(pattern=r"^[A-Z]{3}$")
    price: Number


class OptionIn(Strict):
    group: str
    value: str


class VariantSettingIn(Strict):
    customer_group: str
    minimum_order_quantity: int | None = None
    maximum_order_quantity: int | None = None
    order_increment: int | None = None


class VariantIn(Strict):
    external_id: VariantExternalId
    sku: str | None = None
    weight_in_grams: Number | None = None
    position: int | None = None
    cart_image_url: str | None = None
    options: list[OptionIn] | None = None
    status: Literal["pending", "live", "suspended", "discontinued"] = "pending"
    rrp: list[MoneyIn] | None = None
    settings: list[VariantSettingIn] | None = None


class VariantPatchIn(Strict):
    sku: str | None = None
    weight_in_grams: Number | None = None
    position: int | None = None
    cart_image_url: str | None = None
    options: list[OptionIn] | None = None
    status: Literal["pending", "live", "suspended", "discontinued"] | None = None
    rrp: list[MoneyIn] | None = None
    settings: list[VariantSettingIn] | None = None


class ProductIn(Strict):
    external_id: ProductExternalId
    title: str = Field(min_length=1)
    slug: str = Field(min_length=1)
    variants: list[VariantIn] = Field(min_length=1)


class ProductPatchIn(Strict):
    title: str | None = Field(default=None, min_length=1)
    slug: str | None = Field(default=None, min_length=1)
    variants: list[VariantIn] | None = None


class StockIn(Strict):
    sku: str = Field(min_length=1)
    stock_location_id: str | None = None
    stock_location_external_id: str | None = None
    stock_level: int
    restock_date: date | None = None
    min_stock_level: int | None = None


class StockLocationIn(Strict):
    name: str = Field(min_length=1)
    external_id: str = Field(min_length=1)


class PriceRuleIn(Strict):
    source_price_list_slug: str
    adjustment_percentage: Number | None = None
    adjustment_direction: Literal["plus", "minus"] | None = None
    currency_exchange_rate: Number | None = None


class PriceListIn(Strict):
    slug: str = Field(min_length=1)
    name: str = Field(min_length=1)
    currency_code: Currency = Field(pattern=r"^[A-Z]{3}$")
    source: str = "custom"
    tax_inclusive_display: bool | None = None
    rules: list[PriceRuleIn] = Field(default_factory=list)


class PriceBreakIn(Strict):
    quantity: int = Field(ge=1)
    price: Number = Field(ge=0)
    unit_of_measure: str | None = None


class SkuPricingIn(Strict):
    sku: str = Field(min_length=1)
    display_tax_rate: Number | None = None
    pricing: list[PriceBreakIn]


class AddressIn(Strict):
    """Field names as SparkLayer's own platform mapping uses them (address_line1, region_code, ...)."""

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


class PaymentOnAccountIn(Strict):
    balance: Number | None = None
    balance_date: date | None = None
    credit_limit: Number | None = None
    currency_code: Currency | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    net_terms: int | None = None


class CustomerIn(Strict):
    id: str | None = None
    legacy_id: str | None = None
    external_id: CustomerExternalId | None = None
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    first_name: str
    last_name: str
    title: str | None = None
    company_name: str | None = None
    status: Literal["active", "inactive"] | None = None
    group: str | None = None
    role: Literal["main", "limited-customer", "sales-agent", "sales-admin"] | None = None
    accounting_id: str | None = None
    currency_code: Currency | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    sales_agent_groups: list[str] = Field(default_factory=list)
    price_lists: list[str] = Field(default_factory=list)
    discount_percentage: Number | None = None
    tax_exempt: bool | None = None
    payment_on_account: PaymentOnAccountIn | None = None
    parent_customer_id: str | None = None
    addresses: list[AddressIn] = Field(default_factory=list)


class SettingIn(Strict):
    key: str
    value: Any = None


class PurchaseIdentifiersIn(Strict):
    sparklayer: str | None = None
    platform: str | None = None
    internal: str | None = None
    visible: str | None = None


class LineItemIn(Strict):
    sku: str = Field(min_length=1)
    name: str | None = None
    quantity: int = Field(ge=1)
    price: Number


class PackageIn(Strict):
    type: Literal["processing", "shipment", "refund", "cancelled"]
    line_items: list[LineItemIn] = Field(min_length=1)
    created_at: datetime | None = None
    shipped_at: datetime | None = None
    tracking_number: str | None = None
    shipping_method: str | None = None
    shipping_address: AddressIn | None = None


class PurchaseCustomerIn(Strict):
    external_id: str | None = None
    email: str | None = None


class PurchaseIn(Strict):
    type: Literal["quote", "cart", "awaiting_approval", "order_unconfirmed", "order"]
    purchase_identifiers: PurchaseIdentifiersIn
    currency_code: Currency = Field(pattern=r"^[A-Z]{3}$")
    customer: PurchaseCustomerIn | None = None
    created_at: datetime | None = None
    billing_address: AddressIn | None = None
    packages: list[PackageIn] = Field(min_length=1)


class SyncLogErrorIn(Strict):
    external_id: str = Field(min_length=1)
    external_url: str | None = None
    visible_id: str | None = None
    message: str = Field(min_length=1)
    resolution: str | None = None


class FullSyncLogIn(Strict):
    started_full_sync: datetime | None = None
    last_full_sync: datetime | None = None
    last_full_sync_succeeded: bool | None = None
    errors: list[SyncLogErrorIn] = Field(default_factory=list)


class PartialSyncLogIn(Strict):
    last_partial_sync: datetime | None = None
    last_full_sync: datetime | None = None
    last_full_sync_succeeded: bool | None = None
    errors: list[SyncLogErrorIn] = Field(default_factory=list)
    resolved_external_ids: list[str] = Field(default_factory=list)


def parse(schema: Any, raw: bytes) -> Any:
    """Validate a JSON body against a model or a `list[...]` type; raises ValidationError."""
    return TypeAdapter(schema).validate_json(raw)


def problems_of(exc: ValidationError) -> list[dict[str, str]]:
    """RFC 7807 `errors` items: {code, message, property} with property like `[3].sku`."""
    return [
        {"code": error["type"], "message": error["msg"], "property": property_path(error["loc"])}
        for error in exc.errors()
    ]


def pricing_problems_of(exc: ValidationError) -> list[dict[str, Any]]:
    """The pricing API's own 400 shape: [{line, field, message}], line 1-based."""
    out = []
    for error in exc.errors():
        loc = list(error["loc"])
        first = loc[0] if loc else None
        line = None
        if isinstance(first, int):
            loc.pop(0)
            line = first + 1
        out.append({"line": line, "field": property_path(tuple(loc)), "message": error["msg"]})
    return out


def property_path(loc: tuple) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path
