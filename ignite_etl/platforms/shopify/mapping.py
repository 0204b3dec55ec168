"""Shopify Admin GraphQL products -> canonical records, as SparkLayer's own Shopify connector maps them
(shopify-api.md §1.1, §1.4) with the choices CONTRACTS.md records where it is silent.

Ids are Shopify's numeric ids (`legacyResourceId`), as SparkLayer's connector uses them. A record that
cannot be mapped becomes a `RecordProblem` with what the merchant should do; it never raises.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from ignite_etl import b2b
from ignite_etl.model import (
    Address,
    Cancellation,
    Customer,
    CustomerRequest,
    Money,
    Order,
    OrderLine,
    PackageItem,
    PaymentOnAccount,
    Price,
    PriceList,
    Product,
    RecordProblem,
    RecordStatus,
    Refund,
    RefundItem,
    Shipment,
    StockLevel,
    StockLocation,
    Variant,
    VariantOption,
)
from ignite_etl.platforms.base import PlatformError
from ignite_etl.platforms.shopify import queries

log = logging.getLogger(__name__)

PRICE_LIST_SLUG = "shopify-price"
CATALOG_PRICE_LIST_PREFIX = "shopify-price-list-"
DEFAULT_OPTION = ("Title", "Default Title")
"""What Shopify names the one option of a product without options; SparkLayer has no option then."""
STATUSES: dict[str, RecordStatus] = {"ACTIVE": "live", "ARCHIVED": "discontinued", "DRAFT": "discontinued"}
"""SparkLayer's connector makes archived `suspended` and draft `pending`; Ignite's variant status has only
live and discontinued, and neither may be bought, so both are discontinued (CONTRACTS.md)."""
GRAMS_PER_UNIT = {"GRAMS": Decimal(1), "KILOGRAMS": Decimal(1000), "OUNCES": Decimal("28.349523125"),
                  "POUNDS": Decimal("453.59237")}
ADMIN_PRODUCT_URL = "https://{shop}/admin/products/{id}"


class IncompletePage(PlatformError):
    """A nested connection was handed to the mapping before all its pages were read."""


@dataclass
class MappedProducts:
    products: list[Product] = field(default_factory=list)
    stock_levels: list[StockLevel] = field(default_factory=list)
    prices: list[Price] = field(default_factory=list)
    problems: list[RecordProblem] = field(default_factory=list)


def legacy_id(gid: str) -> str:
    """`gid://shopify/Product/123` -> `123`."""
    return gid.rpartition("/")[2]


def gid(kind: str, numeric_id: str | int) -> str:
    return f"gid://shopify/{kind}/{numeric_id}"


def nodes_of(connection: dict | None) -> list:
    """A connection's nodes, refusing one with pages left: a product read short would lose what was not read."""
    connection = connection or {}
    if (connection.get("pageInfo") or {}).get("hasNextPage"):
        raise IncompletePage("a nested Shopify connection still has pages to read")
    return [node for node in connection.get("nodes") or [] if node]


def grams(weight: dict | None) -> int | None:
    """A variant's weight in whole grams, from any of Shopify's units; None when it has none."""
    if not weight or weight.get("value") is None or weight.get("unit") not in GRAMS_PER_UNIT:
        return None
    try:
        return round(Decimal(str(weight["value"])) * GRAMS_PER_UNIT[weight["unit"]])
    except InvalidOperation:
        return None


def _timestamp(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def deleted_product(product_id: str) -> Product:
    """A product Shopify no longer has (a `products/delete` webhook, or gone from `nodes`)."""
    return Product(external_id=product_id, title=None, slug=None, status="discontinued", visible_id=product_id)


def map_product(node: dict, currency: str, into: MappedProducts, *, shop: str = "") -> None:
    """Add one Product (every nested page read) to `into`."""
    product_id = str(node.get("legacyResourceId") or legacy_id(node["id"]))
    status = STATUSES.get(node.get("status") or "", "discontinued")
    image = ((node.get("featuredMedia") or {}).get("image") or {}).get("url")
    variants = []
    for variant_node in nodes_of(node.get("variants")):
        variant = _map_variant(variant_node, product_id, status, image, currency, into, shop)
        if variant is not None:
            variants.append(variant)
    into.products.append(Product(
        external_id=product_id,
        title=node.get("title"),
        slug=node.get("handle") or None,
        status=status,
        variants=tuple(variants),
        visible_id=product_id,
        updated_at=_timestamp(node.get("updatedAt")),
    ))


def _metafield_text(metafield: dict) -> str:
    """A metafield's value as SparkLayer's key expects it: a `money` metafield (`{"amount": "24.95",
    "currency_code": "AUD"}`) gives its amount, every other type its value as Shopify stores it."""
    value = str(metafield["value"])
    if metafield.get("type") == "money":
        try:
            amount = json.loads(value).get("amount")
        except (ValueError, AttributeError):
            return value
        return str(amount) if amount is not None else value
    return value


def _options(node: dict) -> tuple[VariantOption, ...]:
    return tuple(VariantOption(name=o["name"], value=o["value"]) for o in node.get("selectedOptions") or []
                 if o.get("name") and (o["name"], o.get("value")) != DEFAULT_OPTION)


def _problem(into: MappedProducts, key: str, message: str, resolution: str, visible_id: str, shop: str,
             product_id: str, entity: str = "variant") -> None:
    into.problems.append(RecordProblem(
        entity=entity, external_id=key, message=message, resolution=resolution, visible_id=visible_id,
        external_url=ADMIN_PRODUCT_URL.format(shop=shop, id=product_id) if shop else None,
    ))


def _map_variant(node: dict, product_id: str, status: RecordStatus, product_image: str | None, currency: str,
                 into: MappedProducts, shop: str) -> Variant | None:
    variant_id = str(node.get("legacyResourceId") or legacy_id(node["id"]))
    sku = (node.get("sku") or "").strip()
    if not sku:
        _problem(into, f"variant:{variant_id}", f"Variant {variant_id} of product {product_id} has no SKU, so it "
                 "cannot be synced to SparkLayer", f"Give variant {variant_id} a SKU in Shopify", variant_id, shop,
                 product_id)
        return None
    metafields = {m["key"]: _metafield_text(m) for m in nodes_of(node.get("metafields"))
                  if m.get("key") in b2b.KEYS and m.get("value") is not None}
    attributes = b2b.parse_variant_attributes(metafields)
    for found in attributes.problems:
        _problem(into, f"variant:{variant_id}:{found.key}",
                 f"SKU {sku} has the metafield sparklayer.{found.key} {found.value!r}, which is not {found.expected}; "
                 "it was not synced", f"Set sparklayer.{found.key} on SKU {sku} in Shopify to {found.expected}, or "
                 "remove it", sku, shop, product_id)
    rrp = attributes.rrp if attributes.rrp is not None else b2b.parse_amount(node.get("compareAtPrice"))
    item = node.get("inventoryItem") or {}
    variant = Variant(
        external_id=variant_id,
        product_external_id=product_id,
        sku=sku,
        weight_in_grams=grams((item.get("measurement") or {}).get("weight")),
        position=int(node.get("position") or 1),
        options=_options(node),
        status=status,
        cart_image_url=(node.get("image") or {}).get("url") or product_image,
        rrp=(Money(currency=currency, amount=rrp),) if rrp is not None else (),
        settings=attributes.settings,
    )
    for level in nodes_of(item.get("inventoryLevels")):
        location = str((level.get("location") or {}).get("legacyResourceId") or "")
        if not location:
            continue
        available = sum(int(q.get("quantity") or 0) for q in level.get("quantities") or [] if q.get("name") == "available")
        at = attributes.stock_at(location)
        into.stock_levels.append(StockLevel(
            sku=sku, location_external_id=location, stock_level=max(0, available) if status == "live" else 0,
            restock_date=at.restock_date, min_stock_level=at.min_stock_level,
        ))
    if status == "live":
        price = b2b.parse_amount(node.get("price"))
        if price is None:
            _problem(into, f"variant:{variant_id}:price", f"The price of SKU {sku} ({node.get('price')!r}) is not a "
                     "number, so it was not synced", f"Set a valid price on SKU {sku} in Shopify", sku, shop,
                     product_id, entity="price")
        else:
            into.prices.append(Price(sku=sku, price_list_slug=PRICE_LIST_SLUG, quantity=1, price=price,
                                     currency=currency))
    return variant


def map_catalog_price_list(node: dict) -> PriceList | None:
    """An active B2B catalog's price list as a further SparkLayer list, slug `shopify-price-list-<id>`, named
    after the catalog; None for a catalog without one, or not active."""
    price_list = node.get("priceList") or {}
    if node.get("status") != "ACTIVE" or not price_list.get("id") or not price_list.get("currency"):
        return None
    return PriceList(slug=f"{CATALOG_PRICE_LIST_PREFIX}{legacy_id(price_list['id'])}",
                     name=node.get("title") or price_list.get("name") or "Shopify B2B catalog",
                     currency=price_list["currency"])


def map_list_prices(nodes: list[dict], price_list: PriceList, into: MappedProducts) -> None:
    """A page of a catalog price list's prices: each SKU of an active product at quantity 1 and at each of its
    quantity breaks. A price that is not a number is a problem of its SKU on that list."""
    for node in nodes:
        variant = node.get("variant") or {}
        sku = (variant.get("sku") or "").strip()
        if not sku or (variant.get("product") or {}).get("status") != "ACTIVE":
            continue  # no SKU is already the variant's problem; a product not live has no prices
        breaks = [(1, (node.get("price") or {}).get("amount"))]
        breaks += [(int(b.get("minimumQuantity") or 1), (b.get("price") or {}).get("amount"))
                   for b in nodes_of(node.get("quantityPriceBreaks"))]
        if ((node.get("quantityPriceBreaks") or {}).get("pageInfo") or {}).get("hasNextPage"):
            log.warning("SKU %s has more than %d quantity breaks on %s; the first are synced", sku,
                        len(breaks) - 1, price_list.slug)
        for quantity, amount in breaks:
            price = b2b.parse_amount(amount)
            if price is None:
                into.problems.append(RecordProblem(
                    entity="price", external_id=f"variant:{legacy_id(variant.get('id') or '')}:{price_list.slug}",
                    message=f"The price of SKU {sku} on {price_list.name} ({amount!r}) is not a number, so it was "
                            "not synced", resolution=f"Set a valid price for SKU {sku} in the catalog "
                                                     f"{price_list.name} in Shopify", visible_id=sku))
                break
            into.prices.append(Price(sku=sku, price_list_slug=price_list.slug, quantity=quantity, price=price,
                                     currency=price_list.currency))


B2B_TAG = "b2b"
GROUP_TAG_PREFIX = "b2b-"


def map_customer(node: dict) -> Customer | None:
    """A Shopify customer as SparkLayer's connector takes one (shopify-api.md §1.2, §1.3): only a B2B customer
    (tagged `b2b` or `b2b-<group>`, or with `sparklayer` metafields; None otherwise), its group from the
    `sparklayer.group` metafield or a `b2b-<group>` tag, and the `sparklayer` keys SparkLayer has fields for.
    A metafield that does not parse is left out (SparkLayer keeps the merchant's value) and is a problem of the
    customer, reported to the sync log."""
    tags = [str(t).strip() for t in node.get("tags") or []]
    lowered = [t.lower() for t in tags]
    fields = {m["key"]: m.get("value") for m in nodes_of(node.get("metafields")) if m and m.get("key")}
    # a contact of a Shopify B2B company (the first, when several) buys for it (SH §6.3; CONTRACTS.md)
    contact = next(iter(node.get("companyContactProfiles") or []), None) or {}
    company = contact.get("company") or {}
    location = next(iter(nodes_of(contact.get("roleAssignments"))), None) or {}
    location = location.get("companyLocation") or {}
    if B2B_TAG not in lowered and not any(t.startswith(GROUP_TAG_PREFIX) for t in lowered) and not fields \
            and not company:
        return None
    customer_id = str(node.get("legacyResourceId") or legacy_id(node["id"]))
    group_tags = [t[len(GROUP_TAG_PREFIX):] for t in tags if t.lower().startswith(GROUP_TAG_PREFIX)]
    addresses = [_address(a) for a in node.get("addresses") or [] if a] + _location_addresses(location, customer_id)
    company_name = (fields.get("company_name") or company.get("name")
                    or next((a.company_name for a in addresses if a.company_name), None))
    email = (node.get("email") or "").strip()
    problems: list[RecordProblem] = []
    price_lists = _customer_field(fields, "price_lists", customer_id, email, problems)
    return Customer(
        external_id=customer_id, email=email, first_name=node.get("firstName"),
        last_name=node.get("lastName"), phone=node.get("phone"), company_name=company_name, addresses=tuple(addresses),
        group=(fields.get("group") or "").strip() or (group_tags[0] if group_tags else None),
        accounting_id=(fields.get("accounting_id") or "").strip() or location.get("externalId")
        or company.get("externalId") or None,
        title=(fields.get("title") or "").strip() or (contact.get("title") or "").strip() or None,
        tax_exempt=bool(node.get("taxExempt")) or bool((location.get("taxSettings") or {}).get("taxExempt")),
        parent_customer_id=_main_contact(company, customer_id) if contact and not contact.get("isMainContact") else None,
        price_lists=price_lists if price_lists is not None else _location_price_lists(location),
        payment_on_account=_customer_field(fields, "payment_on_account", customer_id, email, problems),
        discount_percentage=_customer_field(fields, "discount_percentage", customer_id, email, problems),
        updated_at=_timestamp(node.get("updatedAt")),
        problems=tuple(problems),
    )


def _location_addresses(location: dict, customer_id: str) -> list[Address]:
    """The company location's billing and shipping addresses, as the customer's; their external ids name the
    customer too (`<customer>-location-<location>-billing`), since several contacts share a location."""
    found = []
    for kind in ("billing", "shipping"):
        address = location.get(f"{kind}Address")
        if address and location.get("id"):
            found.append(Address(
                external_id=f"{customer_id}-location-{legacy_id(location['id'])}-{kind}",
                first_name=address.get("firstName"), last_name=address.get("lastName"),
                company_name=address.get("companyName"), line_1=address.get("address1"), line_2=address.get("address2"),
                city=address.get("city"), region=address.get("zoneCode"), postcode=address.get("zip"),
                country_code=address.get("countryCode"), phone=address.get("phone")))
    return found


def _location_price_lists(location: dict) -> tuple[str, ...] | None:
    """The SparkLayer lists mirroring the price lists of the active catalogs published to a company location
    (`map_catalog_price_list`); None (the merchant's) when it has none."""
    slugs = tuple(f"{CATALOG_PRICE_LIST_PREFIX}{legacy_id(c['priceList']['id'])}" for c in nodes_of(location.get("catalogs"))
                  if c and c.get("status") == "ACTIVE" and (c.get("priceList") or {}).get("id"))
    return slugs or None


def _main_contact(company: dict, customer_id: str) -> str | None:
    """The customer id of the company's main contact, whom its other contacts buy under."""
    main = ((company.get("mainContact") or {}).get("customer") or {}).get("legacyResourceId")
    return str(main) if main and str(main) != customer_id else None


def _address(node: dict) -> Address:
    return Address(external_id=legacy_id(node["id"]) if node.get("id") else None, first_name=node.get("firstName"),
                   last_name=node.get("lastName"), company_name=node.get("company"), line_1=node.get("address1"),
                   line_2=node.get("address2"), city=node.get("city"), region=node.get("provinceCode"),
                   postcode=node.get("zip"), country_code=node.get("countryCodeV2"), phone=node.get("phone"))


def _price_lists(value: str) -> tuple[str, ...] | None:
    """`sparklayer.price_lists`: a JSON list of price list slugs (a comma-separated text is read too)."""
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = str(value).split(",")
    if not isinstance(parsed, list) or not all(isinstance(p, str) for p in parsed):
        return None
    return tuple(p.strip() for p in parsed if p.strip())


def _payment_on_account(value: str) -> PaymentOnAccount | None:
    """`sparklayer.payment_on_account`: JSON such as {"credit_limit": 1000, "balance": 250}, optionally with
    `currency_code` and `net_terms`."""
    try:
        return PaymentOnAccount.model_validate_json(value)
    except ValidationError:
        return None


def _percentage(value: str) -> Decimal | None:
    amount = b2b.parse_amount(value)
    return amount if amount is not None and amount <= 100 else None


CUSTOMER_METAFIELD_READERS: dict[str, tuple[Callable[[str], Any], str]] = {
    "price_lists": (_price_lists, 'a JSON list of price list slugs, such as ["trade"]'),
    "payment_on_account": (_payment_on_account, 'JSON such as {"credit_limit": 1000, "balance": 250}'),
    "discount_percentage": (_percentage, "a number from 0 to 100"),
}
"""The customer metafields that need reading: the reader (None when the value does not parse) and what the
merchant should write instead."""


def _customer_field(fields: dict[str, str | None], key: str, customer_id: str, email: str,
                    problems: list[RecordProblem]) -> Any:
    """A `sparklayer` customer metafield read; one that does not parse is a problem of the customer (the rest of
    it syncs, and SparkLayer keeps its own value of that field)."""
    value = fields.get(key)
    if value is None:
        return None
    reader, expected = CUSTOMER_METAFIELD_READERS[key]
    parsed = reader(value)
    if parsed is None:
        problems.append(RecordProblem(
            entity="customer", external_id=f"customer:{customer_id}:{key}", visible_id=email or None,
            message=f"The customer's sparklayer.{key} metafield {_shown(value)} is not {expected}, so it was not "
                    "synced; SparkLayer keeps the value it has.",
            resolution=f"Set sparklayer.{key} of customer {email or customer_id} in Shopify to {expected}.",
        ))
    return parsed


def _shown(value: str, limit: int = 60) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "…")


def customer_metafields(customer: CustomerRequest) -> dict[str, tuple[str, str]]:
    """The `sparklayer` customer metafields (key: (type, value)) that carry what SparkLayer states about a
    customer it creates or updates (Ignite's `PUT …/customers`), as `map_customer` reads them back; what it
    leaves out is not written. `role` and `sales_agent_groups` have no published metafield: they stay
    SparkLayer's."""
    found: dict[str, tuple[str, str]] = {}
    for key, value in (("company_name", customer.company_name), ("group", customer.group)):
        if value and value.strip():
            found[key] = ("single_line_text_field", value.strip())
    if customer.price_lists:
        found["price_lists"] = ("json", json.dumps(list(customer.price_lists)))
    if customer.customer_discount_percentage is not None:
        found["discount_percentage"] = ("number_decimal", str(customer.customer_discount_percentage))
    return found


CART_ID_ATTRIBUTE = "sparkCartId"
CHARGED_PRICE_PROPERTY = "Charged Price"


def _attributes(pairs: list[dict] | None) -> dict[str, str]:
    return {str(a.get("key")): a.get("value") or "" for a in pairs or [] if a and a.get("key")}


def is_sparklayer_order(node: dict) -> bool:
    """An order placed through SparkLayer (its note attributes carry the cart id, SH §1.3), or one placed
    elsewhere that the merchant marked for SparkLayer (`is_imported_order`)."""
    return bool(_attributes(node.get("customAttributes")).get(CART_ID_ATTRIBUTE, "").strip()) or is_imported_order(node)


def is_imported_order(node: dict) -> bool:
    """Tagged `b2b` with the `sparklayer.order_import` metafield set (SH §0.4); its value's type is not
    published, so any value but an empty or false one marks it."""
    value = ((node.get("orderImport") or {}).get("value") or "").strip().lower()
    tagged = B2B_TAG in {str(t).strip().lower() for t in node.get("tags") or []}
    return tagged and value not in ("", "false", "0", "no")


def map_order(node: dict) -> Order:
    """A SparkLayer order as a whole purchase (SH §1.3; CONTRACTS.md): lines at the price SparkLayer charged
    (`Charged Price`, else the line's own), shipments from fulfillments, refunds (a `CANCEL` restock is a
    cancellation: the units never shipped) and, for a cancelled order, what was left processing."""
    order_id = str(node.get("legacyResourceId") or legacy_id(node["id"]))
    cart_id = _attributes(node.get("customAttributes")).get(CART_ID_ATTRIBUTE, "").strip() or None
    imported = not cart_id and is_imported_order(node)
    if not order_read_whole(node):  # reported to the merchant, never sent in part
        return Order(external_id=order_id, visible_id=node.get("name"), sparklayer_id=cart_id, imported=imported,
                     unreadable=(
            f"it has more than {queries.LINES_PER_ORDER} lines, {queries.FULFILLMENTS_PER_ORDER - 1} fulfillments or "
            f"{queries.REFUNDS_PER_ORDER - 1} refunds, or a fulfillment or refund of more than "
            f"{queries.ITEMS_PER_PACKAGE} lines, which this integration cannot read whole yet"))
    refunded = _refunded_quantities(node)
    lines = [_order_line(line, refunded) for line in nodes_of(node.get("lineItems")) if line]
    known = {line.external_id for line in lines}
    shipments = _shipments(node, known)
    refunds, cancellations = _refunds(node, known, shipments)
    customer = node.get("customer") or {}
    email = (customer.get("email") or node.get("email") or "").strip()
    order = Order(
        external_id=order_id, visible_id=node.get("name"),
        sparklayer_id=cart_id, imported=imported,
        customer_email=email or None,
        customer=Customer(external_id=str(customer.get("legacyResourceId") or legacy_id(customer["id"])), email=email)
        if customer.get("id") and email else None,
        currency=node.get("currencyCode"), created_at=_timestamp(node.get("processedAt")),
        updated_at=_timestamp(node.get("updatedAt")),
        shipping_address=_address(node["shippingAddress"]) if node.get("shippingAddress") else None,
        billing_address=_address(node["billingAddress"]) if node.get("billingAddress") else None,
        lines=tuple(lines), shipments=tuple(shipments), refunds=tuple(refunds), cancellations=tuple(cancellations),
        shipping_method=(node.get("shippingLine") or {}).get("title"),
    )
    cancelled_at = _timestamp(node.get("cancelledAt"))
    left = {line_id: quantity for line_id, quantity in order.processing_quantities().items() if quantity > 0}
    if cancelled_at and left:
        order = order.model_copy(update={"cancellations": (*order.cancellations, Cancellation(
            external_id=f"{order_id}-cancel", cancelled_at=cancelled_at,
            items=tuple(PackageItem(line_external_id=i, quantity=q) for i, q in left.items())))})
    return order


def _shipments(node: dict, known: set[str]) -> list[Shipment]:
    """The order's successful fulfillments (a cancelled, failed or pending one has shipped nothing)."""
    shipments = []
    for fulfillment in node.get("fulfillments") or []:
        if not fulfillment or fulfillment.get("status") not in (None, "SUCCESS"):
            continue
        tracking = next(iter(fulfillment.get("trackingInfo") or []), None) or {}
        shipments.append(Shipment(
            external_id=legacy_id(fulfillment["id"]), items=tuple(_package_items(fulfillment.get("fulfillmentLineItems"),
                                                                                 known)),
            shipped_at=_timestamp(fulfillment.get("createdAt")), carrier=tracking.get("company"),
            tracking_number=tracking.get("number"), tracking_url=tracking.get("url")))
    return shipments


def _refunds(node: dict, known: set[str], shipments: list[Shipment]) -> tuple[list[Refund], list[Cancellation]]:
    """The order's refunds, and the cancellations among them: a line restocked `CANCEL` never shipped (Shopify's
    meaning); a `RETURN` had; any other had as far as the shipments not yet refunded say."""
    shipped: dict[str, int] = {}
    for shipment in shipments:
        for item in shipment.items:
            shipped[item.line_external_id] = shipped.get(item.line_external_id, 0) + item.quantity
    refunds, cancellations = [], []
    for refund in node.get("refunds") or []:
        refunded: list[RefundItem] = []
        cancelled: list[PackageItem] = []
        for item in nodes_of(refund.get("refundLineItems")):
            line_id = legacy_id(((item or {}).get("lineItem") or {}).get("id") or "")
            quantity = int(item.get("quantity") or 0)
            if line_id not in known or quantity < 1:
                continue
            if item.get("restockType") == "CANCEL":
                cancelled.append(PackageItem(line_external_id=line_id, quantity=quantity))
                continue
            dispatched = quantity if item.get("restockType") == "RETURN" else min(quantity, shipped.get(line_id, 0))
            shipped[line_id] = max(0, shipped.get(line_id, 0) - dispatched)
            refunded += [RefundItem(line_external_id=line_id, quantity=q, dispatched=d)
                         for q, d in ((dispatched, True), (quantity - dispatched, False)) if q > 0]
        refund_id, at = legacy_id(refund["id"]), _timestamp(refund.get("createdAt"))
        if refunded:
            refunds.append(Refund(external_id=refund_id, items=tuple(refunded), refunded_at=at))
        if cancelled:
            cancellations.append(Cancellation(external_id=f"{refund_id}-cancel", items=tuple(cancelled), cancelled_at=at))
    return refunds, cancellations


def _refunded_quantities(node: dict) -> dict[str, int]:
    """Per line item, the units refunded (whatever their restock)."""
    found: dict[str, int] = {}
    for refund in node.get("refunds") or []:
        for item in nodes_of((refund or {}).get("refundLineItems")):
            line_id = legacy_id(((item or {}).get("lineItem") or {}).get("id") or "")
            found[line_id] = found.get(line_id, 0) + int((item or {}).get("quantity") or 0)
    return found


def _order_line(node: dict, refunded: dict[str, int]) -> OrderLine:
    """A line with the units the order has now: `currentQuantity` leaves out what an order edit removed and what
    was refunded, so the refunded units (their own packages) are added back; `quantity` is what was first
    ordered, edits aside."""
    line_id = legacy_id(node["id"])
    current = node.get("currentQuantity")
    quantity = int(current) + refunded.get(line_id, 0) if current is not None else int(node.get("quantity") or 0)
    properties = _attributes(node.get("customAttributes"))
    charged = properties.get(CHARGED_PRICE_PROPERTY)
    own = (((node.get("originalUnitPriceSet") or {}).get("shopMoney") or {}).get("amount"))
    return OrderLine(external_id=line_id, sku=(node.get("sku") or "").strip() or None,
                     variant_external_id=str((node.get("variant") or {}).get("legacyResourceId") or "") or None,
                     name=node.get("name"), quantity=quantity,
                     unit_price=b2b.parse_amount(charged) if charged is not None else b2b.parse_amount(own))


def _package_items(connection: dict | None, known: set[str]) -> list[PackageItem]:
    found = []
    for item in nodes_of(connection):
        line_id = legacy_id(((item or {}).get("lineItem") or {}).get("id") or "")
        if line_id in known and int(item.get("quantity") or 0) > 0:
            found.append(PackageItem(line_external_id=line_id, quantity=int(item["quantity"])))
    return found


def order_read_whole(node: dict) -> bool:
    """Whether one read brought the whole order: no more lines, fulfillments, refunds or package items than a
    page holds (`queries`)."""
    packages = [*(node.get("fulfillments") or []), *(node.get("refunds") or [])]
    return not ((node.get("lineItems") or {}).get("pageInfo") or {}).get("hasNextPage") \
        and len(node.get("fulfillments") or []) < queries.FULFILLMENTS_PER_ORDER \
        and len(node.get("refunds") or []) < queries.REFUNDS_PER_ORDER \
        and not any(((p.get("fulfillmentLineItems") or p.get("refundLineItems") or {}).get("pageInfo") or {})
                    .get("hasNextPage") for p in packages if p)


def map_location(node: dict) -> StockLocation:
    return StockLocation(external_id=str(node.get("legacyResourceId") or legacy_id(node["id"])),
                         name=node.get("name") or f"Shopify location {legacy_id(node['id'])}")
