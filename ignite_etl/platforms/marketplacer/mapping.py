"""Marketplacer GraphQL nodes -> canonical records, as contract-decisions.md fixes the mapping.

A record that cannot be mapped becomes a `RecordProblem` with what the merchant should do; it never raises.
"""

from __future__ import annotations

import base64
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from ignite_etl import b2b
from ignite_etl.model import (
    Address,
    Cancellation,
    Customer,
    Money,
    Order,
    OrderLine,
    PackageItem,
    Price,
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

PRICE_LIST_SLUG = "marketplacer-price"
STOCK_LOCATION = StockLocation(external_id="marketplacer", name="Marketplacer")
SPARKLAYER_KEY = "sparklayer"


class IncompletePage(PlatformError):
    """A nested connection was handed to the mapping before all its pages were read."""


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


def _timestamp(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def nodes_of(connection: dict | None) -> list:
    """A connection's nodes, refusing one with pages left: a catalogue read short would discontinue what
    was not read."""
    connection = connection or {}
    if (connection.get("pageInfo") or {}).get("hasNextPage"):
        raise IncompletePage("a nested Marketplacer connection still has pages to read")
    return [node for node in connection.get("nodes") or [] if node]


def advert_fields(node: dict) -> dict | None:
    """The Advert fields of an `AllAdvert`: the advert itself, an unpublished one's `details`, or None
    for a deleted one (which has only ids)."""
    kind = node.get("__typename")
    if kind == "Advert":
        return node
    if kind == "UnpublishedAdvert":
        return node.get("details") or {}
    return None


def map_advert(node: dict, currency: str, into: MappedAdverts) -> None:
    """Add one `allAdverts`/`nodes` result (Advert, UnpublishedAdvert or DeletedAdvert) to `into`.

    Only an online Advert is live; unpublished, offline and deleted ones discontinue their variants. A
    deleted advert names no SKUs: the diff discontinues the variants SparkLayer holds for it."""
    legacy_id = str(node.get("legacyId") or legacy_id_of(node["id"]))
    advert = advert_fields(node)
    if advert is None:
        into.products.append(Product(external_id=node["id"], title=None, slug=None, status="discontinued",
                                     visible_id=legacy_id, updated_at=_timestamp(node.get("updatedAt"))))
        return
    title = advert.get("title")
    status: RecordStatus = "live" if node["__typename"] == "Advert" and advert.get("online") else "discontinued"
    image = (advert.get("displayImage") or {}).get("url")
    advert_rrp = advert.get("recommendedRetailPrice")
    variants = []
    for position, variant_node in enumerate(nodes_of(advert.get("variants")), start=1):
        variant = _map_variant(variant_node, node["id"], position, status, image, advert_rrp, currency, into)
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


def _map_variant(node: dict, product_id: str, position: int, status: RecordStatus, image: str | None, advert_rrp: str | None,
                 currency: str, into: MappedAdverts) -> Variant | None:
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
        VariantOption(name=(value.get("optionType") or {}).get("displayName") or "Option",
                      value=(value.get("optionValue") or {}).get("displayName") or value.get("textValue") or "")
        for value in nodes_of(node.get("variantOptionValues"))
    )
    metadata = {item["key"]: item["value"] for item in node.get("metadata") or [] if item.get("key") in b2b.KEYS}
    attributes = b2b.parse_variant_attributes(metadata)
    for found in attributes.problems:
        into.problems.append(RecordProblem(
            entity="variant",
            external_id=f"variant:{legacy_id}:{found.key}",
            message=f"SKU {sku} has {found.key} {found.value!r} in its metadata, which is not {found.expected}; "
                    "it was not synced",
            resolution=f"Set {found.key} on SKU {sku} in Marketplacer to {found.expected}, or remove it",
            visible_id=sku,
        ))
    rrp = b2b.parse_amount(node.get("recommendedRetailPrice") or advert_rrp) or attributes.rrp
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
        rrp=(Money(currency=currency, amount=rrp),) if rrp is not None else (),
        settings=attributes.settings,
    )
    at = attributes.stock_at(STOCK_LOCATION.external_id)
    into.stock_levels.append(StockLevel(
        sku=sku, location_external_id=STOCK_LOCATION.external_id,
        stock_level=max(0, int(node.get("countOnHand") or 0)) if status == "live" else 0,
        restock_date=at.restock_date, min_stock_level=at.min_stock_level,
    ))
    if status == "live":
        inventories = (node.get("inventories") or {}).get("nodes") or []
        raw_price = ((inventories[0].get("price") or {}).get("amount") if inventories else None) or node.get("lowestPrice")
        price = b2b.parse_amount(raw_price)
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
    """One Marketplacer Order (all its invoices, every page read) -> one canonical Order.

    Units of a line are shipped (shipments), refunded (refund request lines with status REFUNDED; a
    dispatched one leaves its shipment), still awaiting dispatch (`quantityAwaitingDispatch`), or else
    cancelled."""
    external_ids = {e["key"]: e.get("value") for e in node.get("externalIds") or []}
    invoices = nodes_of(node.get("invoices"))
    lines, shipments, refunds, cancellations = [], [], [], []
    for invoice in invoices:
        shipped: dict[str, int] = {}
        refunded_undispatched: dict[str, int] = {}
        for shipment in invoice.get("shipments") or []:
            items = tuple(PackageItem(line_external_id=s["lineItem"]["id"], quantity=s["quantity"])
                          for s in shipment.get("shippedItems") or [] if s.get("quantity", 0) > 0)
            for item in items:
                shipped[item.line_external_id] = shipped.get(item.line_external_id, 0) + item.quantity
            shipments.append(Shipment(
                external_id=shipment["id"], items=items,
                shipped_at=_timestamp(shipment.get("dispatchedAt") or shipment.get("createdAt")),
                carrier=shipment.get("carrier"), tracking_number=shipment.get("trackingNumber"),
                tracking_url=shipment.get("trackingLink"),
            ))
        for refund in invoice.get("refundRequests") or []:
            done = [i for i in refund.get("lineItems") or [] if i.get("status") == "REFUNDED" and i.get("lineItem")
                    and i.get("quantity", 0) > 0]
            if not done:
                continue
            refunded = tuple(RefundItem(line_external_id=i["lineItem"]["id"], quantity=i["quantity"],
                                        dispatched=bool(i.get("dispatched"))) for i in done)
            for unit in refunded:
                if not unit.dispatched:
                    refunded_undispatched[unit.line_external_id] = (
                        refunded_undispatched.get(unit.line_external_id, 0) + unit.quantity)
            refunds.append(Refund(
                external_id=refund["id"], items=refunded,
                refunded_at=_timestamp(refund.get("refundedAt") or refund.get("createdAt")),
                amount=sum((Decimal(i.get("amountCents") or 0) for i in done), Decimal(0)) / 100,
            ))
        cancelled = []
        for item in invoice.get("lineItems") or []:
            line_id = item["id"]
            lines.append(OrderLine(
                external_id=line_id, sku=item.get("variantSku"), variant_external_id=item.get("variantId"),
                name=item.get("variantName"), quantity=item["quantity"],
                unit_price=Decimal(item["itemAmountCents"]) / 100 if item.get("itemAmountCents") is not None else None,
            ))
            settled = shipped.get(line_id, 0) + refunded_undispatched.get(line_id, 0)
            awaiting = item.get("quantityAwaitingDispatch")
            if awaiting is None:
                awaiting = 0 if item.get("status") == "CANCELLED" else max(0, item["quantity"] - settled)
            gone = item["quantity"] - awaiting - settled
            if gone > 0:
                cancelled.append(PackageItem(line_external_id=line_id, quantity=gone))
        if cancelled:
            cancellations.append(Cancellation(external_id=f"{invoice['id']}:cancelled", items=tuple(cancelled),
                                              cancelled_at=_timestamp(invoice.get("updatedAt"))))
    customer = map_buyer(node, invoices[0] if invoices else {})
    return Order(
        external_id=node["id"],
        visible_id=str(node.get("legacyId") or legacy_id_of(node["id"])),
        sparklayer_id=external_ids.get(SPARKLAYER_KEY),
        customer_email=customer.email if customer else None,
        customer=customer,
        currency=currency,
        created_at=_timestamp(node.get("createdAt")),
        updated_at=_timestamp(node.get("updatedAt")),
        shipping_address=_address(node.get("address"), node.get("firstName"), node.get("surname"),
                                  node.get("companyName"), node.get("phone")),
        billing_address=_address(node.get("billingAddress"), node.get("billingFirstName"), node.get("billingSurname"),
                                 node.get("billingCompanyName"), node.get("billingPhone")),
        lines=tuple(lines),
        shipments=tuple(shipments),
        refunds=tuple(refunds),
        cancellations=tuple(cancellations),
    )


def map_buyer(order: dict, invoice: dict | None = None) -> Customer | None:
    """The buyer of an order as a customer keyed by lower-cased email; None without an email. The order's
    buyer fields win; an invoice's copies fill what the order lacks."""
    invoice = invoice or {}
    email = (order.get("emailAddress") or invoice.get("buyerEmailAddress") or "").strip().lower()
    if not email:
        return None
    first_name = order.get("firstName") or invoice.get("buyerFirstName")
    last_name = order.get("surname") or invoice.get("buyerSurname")
    phone = order.get("phone") or invoice.get("buyerPhone")
    address = _address(order.get("address") or invoice.get("shippingAddress"), first_name, last_name,
                       order.get("companyName"), phone, external_id=f"{email}:shipping")
    return Customer(
        external_id=email,
        email=email,
        first_name=first_name,
        last_name=last_name,
        company_name=order.get("companyName") or None,
        phone=phone,
        addresses=(address,) if address else (),
        updated_at=_timestamp(order.get("updatedAt") or invoice.get("updatedAt")),
    )


def _address(node: dict | None, first_name: str | None, last_name: str | None, company: str | None,
             phone: str | None, *, external_id: str | None = None) -> Address | None:
    if not node:
        return None
    return Address(
        external_id=external_id, first_name=first_name, last_name=last_name, company_name=company or None,
        line_1=node.get("address"), line_2=node.get("subaddress") or None, city=node.get("city"),
        region=(node.get("state") or {}).get("short"), postcode=node.get("postcode"),
        country_code=(node.get("country") or {}).get("code"), phone=phone,
    )
