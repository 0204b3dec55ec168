"""Marketplacer GraphQL nodes -> canonical records, as contract-decisions.md fixes the mapping.

A record that cannot be mapped becomes a `RecordProblem` with what the merchant should do; it never raises.
"""

from __future__ import annotations

import base64
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from ignite_etl.model import (
    Address,
    Cancellation,
    Customer,
    Order,
    OrderLine,
    PackageItem,
    Price,
    Product,
    RecordProblem,
    Refund,
    Shipment,
    StockLevel,
    Variant,
    VariantOption,
)

PRICE_LIST_SLUG = "marketplacer-price"
STOCK_LOCATION = "marketplacer"
SPARKLAYER_KEY = "sparklayer"


@dataclass
class MappedAdverts:
    products: list[Product] = field(default_factory=list)
    stock_levels: list[StockLevel] = field(default_factory=list)
    prices: list[Price] = field(default_factory=list)
    problems: list[RecordProblem] = field(default_factory=list)


def legacy_id_of(global_id: str) -> str:
    """`QWR2ZXJ0LTEy` -> `12`; the id itself when it is not a Relay id."""
    try:
        return base64.b64decode(global_id, validate=True).decode().rpartition("-")[2] or global_id
    except ValueError:
        return global_id


def slugify(title: str, legacy_id: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    return f"{words}-{legacy_id}" if words else legacy_id


def parse_price(value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        price = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return price if price.is_finite() and price >= 0 else None


def _timestamp(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def map_advert(node: dict, currency: str, into: MappedAdverts) -> None:
    """Add one `allAdverts`/`nodes` result (Advert, UnpublishedAdvert or DeletedAdvert) to `into`."""
    kind = node["__typename"]
    details = node.get("details") or {}
    title = node.get("title") or details.get("title")
    legacy_id = str(node.get("legacyId") or legacy_id_of(node["id"]))
    sellable = kind == "Advert" and bool(node.get("online"))
    status = "live" if sellable else "discontinued"
    image = (node.get("displayImage") or details.get("displayImage") or {}).get("url")
    variants = []
    for position, variant_node in enumerate((node.get("variants") or {}).get("nodes") or [], start=1):
        variant = _map_variant(variant_node, node["id"], position, status, image, currency, into)
        if variant is not None:
            variants.append(variant)
    into.products.append(
        Product(
            external_id=node["id"],
            title=title,
            slug=slugify(title, legacy_id) if title else None,
            status=status,
            variants=tuple(variants),
            visible_id=legacy_id,
            updated_at=_timestamp(node.get("updatedAt")),
        )
    )


def _map_variant(node: dict, product_id: str, position: int, status: str, image: str | None, currency: str,
                 into: MappedAdverts) -> Variant | None:
    legacy_id = str(node.get("legacyId") or legacy_id_of(node["id"]))
    sku = (node.get("sku") or "").strip()
    if not sku:
        into.problems.append(RecordProblem(
            entity="variant",
            external_id=f"variant:{legacy_id}",
            message=f"Variant {legacy_id} has no SKU, so it cannot be synced to SparkLayer",
            resolution=f"Variant {legacy_id} has no SKU: add one in Marketplacer",
            visible_id=legacy_id,
        ))
        return None
    weight_kg = (node.get("shippingParcel") or {}).get("weightInKg")
    options = tuple(
        VariantOption(name=(value.get("optionType") or {}).get("name") or "Option",
                      value=value.get("displayName") or value.get("name") or "")
        for value in (node.get("optionValues") or {}).get("nodes") or []
    )
    variant = Variant(
        external_id=node["id"],
        product_external_id=product_id,
        sku=sku,
        barcode=node.get("barcode") or None,
        weight_in_grams=round(Decimal(str(weight_kg)) * 1000) if weight_kg not in (None, "") else None,
        position=position,
        options=options,
        status=status,
        cart_image_url=image,
    )
    into.stock_levels.append(StockLevel(
        sku=sku, location_external_id=STOCK_LOCATION,
        stock_level=max(0, int(node.get("countOnHand") or 0)) if status == "live" else 0,
    ))
    if status == "live":
        inventories = (node.get("inventories") or {}).get("nodes") or []
        raw_price = ((inventories[0].get("price") or {}).get("amount") if inventories else None) or node.get("lowestPrice")
        price = parse_price(raw_price)
        if price is None:
            into.problems.append(RecordProblem(
                entity="price",
                external_id=f"variant:{legacy_id}:price",
                message=f"The price of SKU {sku} ({raw_price!r}) is not a number, so it was not synced",
                resolution=f"Set a valid price on SKU {sku} in Marketplacer",
                visible_id=sku,
            ))
        else:
            into.prices.append(Price(sku=sku, price_list_slug=PRICE_LIST_SLUG, quantity=1, price=price,
                                     currency=currency))
    return variant


def is_sparklayer_order(order_node: dict) -> bool:
    return any(e.get("key") == SPARKLAYER_KEY and e.get("value") for e in order_node.get("externalIds") or [])


def map_order(node: dict, currency: str) -> Order:
    """One Marketplacer Order (all its invoices) -> one canonical Order."""
    external_ids = {e["key"]: e.get("value") for e in node.get("externalIds") or []}
    invoices = (node.get("invoices") or {}).get("nodes") or []
    lines, shipments, refunds, cancellations = [], [], [], []
    for invoice in invoices:
        cancelled = []
        for item in invoice.get("lineItems") or []:
            lines.append(OrderLine(
                external_id=item["id"], sku=item.get("variantSku"), variant_external_id=item.get("variantId"),
                name=item.get("variantName"), quantity=item["quantity"],
                unit_price=parse_price((item.get("unitPrice") or {}).get("amount")),
            ))
            if item.get("cancelledQuantity"):
                cancelled.append(PackageItem(line_external_id=item["id"], quantity=item["cancelledQuantity"]))
        if cancelled:
            cancellations.append(Cancellation(external_id=f"{invoice['id']}:cancelled", items=tuple(cancelled),
                                              cancelled_at=_timestamp(invoice.get("updatedAt"))))
        for shipment in invoice.get("shipments") or []:
            shipments.append(Shipment(
                external_id=shipment["id"],
                items=tuple(PackageItem(line_external_id=s["lineItem"]["id"], quantity=s["quantity"])
                            for s in shipment.get("shippedItems") or []),
                shipped_at=_timestamp(shipment.get("createdAt")), carrier=shipment.get("carrier"),
                tracking_number=shipment.get("trackingNumber"), tracking_url=shipment.get("trackingLink"),
            ))
        for refund in invoice.get("refundRequests") or []:
            if refund.get("status") != "REFUNDED":
                continue
            amounts = [parse_price((i.get("amount") or {}).get("amount")) for i in refund.get("lineItems") or []]
            refunds.append(Refund(
                external_id=refund["id"],
                items=tuple(PackageItem(line_external_id=i["lineItem"]["id"], quantity=i["quantity"])
                            for i in refund.get("lineItems") or []),
                refunded_at=_timestamp(refund.get("createdAt")),
                amount=sum(amounts, Decimal(0)) if all(a is not None for a in amounts) else None,
            ))
    first = invoices[0] if invoices else {}
    customer = map_buyer(first)
    return Order(
        external_id=node["id"],
        visible_id=str(node.get("legacyId") or legacy_id_of(node["id"])),
        sparklayer_id=external_ids.get(SPARKLAYER_KEY),
        customer_email=customer.email if customer else None,
        customer=customer,
        currency=currency,
        created_at=_timestamp(node.get("createdAt")),
        updated_at=_timestamp(node.get("updatedAt")),
        shipping_address=_address(first.get("shippingAddress"), first) if first else None,
        lines=tuple(lines),
        shipments=tuple(shipments),
        refunds=tuple(refunds),
        cancellations=tuple(cancellations),
    )


def map_buyer(invoice: dict) -> Customer | None:
    """The buyer on an invoice as a customer keyed by lower-cased email; None without an email."""
    email = (invoice.get("buyerEmailAddress") or "").strip().lower()
    if not email:
        return None
    address = _address(invoice.get("shippingAddress"), invoice)
    return Customer(
        external_id=email,
        email=email,
        first_name=invoice.get("buyerFirstName"),
        last_name=invoice.get("buyerSurname"),
        phone=invoice.get("buyerPhone"),
        addresses=(address,) if address else (),
        updated_at=_timestamp(invoice.get("updatedAt")),
    )


def _address(node: dict | None, invoice: dict) -> Address | None:
    if not node:
        return None
    return Address(
        first_name=invoice.get("buyerFirstName"), last_name=invoice.get("buyerSurname"),
        line_1=node.get("address"), city=node.get("city"), region=(node.get("state") or {}).get("short"),
        postcode=node.get("postcode"), country_code=(node.get("country") or {}).get("code"),
        phone=invoice.get("buyerPhone"),
    )
