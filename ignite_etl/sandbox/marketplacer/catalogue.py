"""The simulated Marketplacer instance's data: adverts, variants, orders and invoices, and the changes to them.

Records are slotted dataclasses so 100,000 adverts fit comfortably; `allAdverts` pages through an
append-only update log with bisect, never by scanning from the start.
"""

from __future__ import annotations

import base64
import bisect
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

ADVERT_STATES = ("online", "offline", "unpublished", "deleted")
OPTION_TYPES = {1: "Colour", 2: "Size"}
OPTION_VALUES = {  # id -> (option type id, name)
    1: (1, "Red"), 2: (1, "Blue"), 3: (1, "Green"), 4: (1, "Black"), 5: (1, "White"),
    6: (2, "XS"), 7: (2, "S"), 8: (2, "M"), 9: (2, "L"), 10: (2, "XL"),
}
SELLERS = {1: "Harbour Supplies", 2: "Outback Outfitters", 3: "Coastal Goods"}
GENERATED_EPOCH_US = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp() * 1_000_000)
BROKEN_KINDS = ("variant_without_sku", "unparsable_price", "offline_advert", "unpublished_advert", "deleted_advert")
# SparkLayer's variant-level B2B keys, as merchants keep them in a variant's metadata (README, "B2B attributes")
B2B_METADATA = ({"pack_size": "6"}, {"min_order_quantity": "12", "max_order_quantity": "240"},
                {"restock_date": "2027-02-01", "min_stock_level": "10"},
                {"settings": '[{"customer_group": "base", "minimum_order_quantity": 4, "order_increment": 2}]'})
LARGE_ADVERT_VARIANTS = 250
_ADJECTIVES = ("Classic", "Rugged", "Compact", "Deluxe", "Everyday", "Premium", "Light", "Heavy-duty")
_NOUNS = ("Backpack", "Jacket", "Kettle", "Lantern", "Tent", "Bottle", "Boots", "Hammock", "Stove")


def global_id(type_name: str, legacy_id: int) -> str:
    return base64.b64encode(f"{type_name}-{legacy_id}".encode()).decode()


def parse_global_id(value: str) -> tuple[str, int] | None:
    try:
        type_name, _, number = base64.b64decode(value, validate=True).decode().rpartition("-")
        return (type_name, int(number)) if type_name else None
    except (ValueError, UnicodeDecodeError):
        return None


def _metadata(value) -> dict[str, str]:
    """Marketplacer keeps metadata as string keys and string values."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ValueError("metadata must be an object of string keys and string values")
    return dict(value)


def _cents(price: str) -> int:
    try:
        return int((Decimal(price) * 100).to_integral_value())
    except InvalidOperation:
        return 0


def iso(stamp_us: int) -> str:
    return datetime.fromtimestamp(stamp_us // 1_000_000, tz=UTC).isoformat()


def parse_iso_us(value: str) -> int:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1_000_000)


@dataclass(slots=True)
class AdvertRecord:
    legacy_id: int
    title: str
    seller_id: int
    state: str
    created_at: int
    updated_at: int
    log_position: int
    variant_ids: list[int]
    rrp: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class VariantRecord:
    legacy_id: int
    advert_id: int
    sku: str | None
    barcode: str | None
    price: str
    count_on_hand: int
    option_value_ids: tuple[int, ...]
    weight_kg: float | None
    updated_at: int
    deleted: bool = False
    rrp: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class LineItemRecord:
    legacy_id: int
    invoice_id: int
    variant_id: int
    sku: str | None
    barcode: str | None
    name: str
    quantity: int
    unit_price_cents: int
    cancelled_quantity: int = 0


@dataclass(slots=True)
class ShipmentRecord:
    legacy_id: int
    created_at: int
    carrier: str | None
    tracking_number: str | None
    tracking_link: str | None
    items: list[tuple[int, int]]  # (line item id, quantity)


@dataclass(slots=True)
class RefundRecord:
    legacy_id: int
    created_at: int
    status: str
    items: list[tuple[int, int, int, bool]]  # (line item id, quantity, amount in cents, dispatched)


@dataclass(slots=True)
class InvoiceRecord:
    legacy_id: int
    order_id: int
    seller_id: int
    created_at: int
    updated_at: int
    line_item_ids: list[int]
    shipments: list[ShipmentRecord] = field(default_factory=list)
    refunds: list[RefundRecord] = field(default_factory=list)


@dataclass(slots=True)
class OrderRecord:
    legacy_id: int
    created_at: int
    updated_at: int
    external_ids: dict[str, str]
    buyer: dict[str, str | None]
    address: dict[str, str | None]
    invoice_ids: list[int]
    billing_address: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Change:
    """One change a webhook reports: object type (WebhookKlassEnum), event name, object's global id."""

    klass: str
    event_name: str
    object_id: str


@dataclass
class GenerationReport:
    seed: int
    adverts: int
    variants: int
    broken: dict[str, list[int]]  # kind -> advert legacy ids (variant legacy ids for variant-level kinds)
    large_adverts: list[int] = field(default_factory=list)  # adverts with more variants than a page

    def as_dict(self) -> dict:
        return {"seed": self.seed, "adverts": self.adverts, "variants": self.variants, "broken": self.broken,
                "large_adverts": self.large_adverts}


class Catalogue:
    """Adverts, variants, orders and invoices of one simulated instance. Not thread-safe: callers lock."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.adverts: dict[int, AdvertRecord] = {}
        self.variants: dict[int, VariantRecord] = {}
        self.orders: dict[int, OrderRecord] = {}
        self.invoices: dict[int, InvoiceRecord] = {}
        self.line_items: dict[int, LineItemRecord] = {}
        self._log_stamps: list[int] = []
        self._log_ids: list[int] = []
        self._stale: list[int] = []
        self._last_stamp = 0
        self._next_id = {"advert": 1, "variant": 1, "order": 1, "invoice": 1, "line_item": 1, "package": 1}

    # ---- clock and ids ----

    def _stamp(self) -> int:
        self._last_stamp = max(time.time_ns() // 1000, self._last_stamp + 1)
        return self._last_stamp

    def _new_id(self, kind: str) -> int:
        value = self._next_id[kind]
        self._next_id[kind] = value + 1
        return value

    def _log(self, advert: AdvertRecord, stamp: int) -> None:
        if advert.log_position >= 0:
            bisect.insort(self._stale, advert.log_position)
        advert.updated_at = stamp
        advert.log_position = len(self._log_ids)
        self._log_stamps.append(stamp)
        self._log_ids.append(advert.legacy_id)

    # ---- paging ----

    def page_adverts(self, since_us: int | None, after_position: int | None, first: int):
        """Up to `first` adverts updated at or after `since_us`, after log position `after_position`, oldest first.

        Returns (adverts with their log positions, has_next_page, total_count)."""
        start = 0 if since_us is None else bisect.bisect_left(self._log_stamps, since_us)
        total = (len(self._log_ids) - start) - (len(self._stale) - bisect.bisect_left(self._stale, start))
        position = start if after_position is None else max(start, after_position + 1)
        found: list[tuple[int, AdvertRecord]] = []
        while position < len(self._log_ids) and len(found) < first:
            advert = self.adverts[self._log_ids[position]]
            if advert.log_position == position:
                found.append((position, advert))
            position += 1
        live_after = (len(self._log_ids) - position) - (len(self._stale) - bisect.bisect_left(self._stale, position))
        return found, live_after > 0, total

    # ---- generation ----

    def generate(self, size: int, seed: int = 1, broken_rate: float = 0.01, *, b2b_rate: float = 0.1,
                 large_adverts: int = 0) -> GenerationReport:
        """Replace the catalogue with `size` seeded adverts of 1-5 variants; `broken_rate` of them are odd.

        `b2b_rate` of the variants carry SparkLayer's B2B keys in their metadata and an RRP; `large_adverts`
        more adverts have LARGE_ADVERT_VARIANTS variants each, more than one page of them."""
        self._reset()
        rng = random.Random(seed)
        extras = random.Random(seed + 1_000_003)  # its own stream: the base catalogue of a seed never changes
        broken: dict[str, list[int]] = {kind: [] for kind in BROKEN_KINDS}
        large_ids: list[int] = []
        for index in range(size + large_adverts):
            legacy_id = self._new_id("advert")
            large = index >= size
            kind = rng.choice(BROKEN_KINDS) if not large and rng.random() < broken_rate else None
            state = {"offline_advert": "offline", "unpublished_advert": "unpublished", "deleted_advert": "deleted"}.get(
                kind or "", "online"
            )
            stamp = GENERATED_EPOCH_US + index * 1_000_000
            advert = AdvertRecord(
                legacy_id=legacy_id,
                title=f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)} {legacy_id}",
                seller_id=rng.choice(tuple(SELLERS)),
                state=state,
                created_at=stamp,
                updated_at=stamp,
                log_position=-1,
                variant_ids=[],
            )
            self.adverts[legacy_id] = advert
            colours = rng.sample(range(1, 6), k=rng.randint(1, 5))
            size_value = rng.randint(6, 10)
            count = LARGE_ADVERT_VARIANTS if large else len(colours)
            for position in range(count):
                variant_id = self._new_id("variant")
                variant = VariantRecord(
                    legacy_id=variant_id,
                    advert_id=legacy_id,
                    sku=f"MP-{legacy_id:06d}-{position + 1}",
                    barcode=f"93{variant_id:011d}",
                    price=f"{rng.randint(500, 50000) / 100:.2f}",
                    count_on_hand=rng.randint(0, 200),
                    option_value_ids=(colours[position % len(colours)], size_value),
                    weight_kg=round(rng.uniform(0.1, 5.0), 3) if rng.random() < 0.9 else None,
                    updated_at=stamp,
                )
                if extras.random() < b2b_rate:
                    variant.metadata = dict(extras.choice(B2B_METADATA))
                    variant.rrp = f"{Decimal(variant.price) * Decimal('1.3'):.2f}"
                self.variants[variant_id] = variant
                advert.variant_ids.append(variant_id)
            if large:
                large_ids.append(legacy_id)
            elif kind == "variant_without_sku":
                victim = self.variants[advert.variant_ids[-1]]
                victim.sku = None
                broken[kind].append(victim.legacy_id)
            elif kind == "unparsable_price":
                victim = self.variants[advert.variant_ids[0]]
                victim.price = "N/A"
                victim.rrp = None
                broken[kind].append(victim.legacy_id)
            elif kind:
                broken[kind].append(legacy_id)
            self._log(advert, stamp)
        self._last_stamp = max(self._last_stamp, GENERATED_EPOCH_US + (size + large_adverts) * 1_000_000)
        return GenerationReport(seed=seed, adverts=size + large_adverts, variants=len(self.variants), broken=broken,
                                large_adverts=large_ids)

    # ---- catalogue changes ----

    def advert(self, legacy_id: int) -> AdvertRecord:
        advert = self.adverts.get(legacy_id)
        if advert is None:
            raise KeyError(f"no advert {legacy_id}")
        return advert

    def variant(self, legacy_id: int) -> VariantRecord:
        variant = self.variants.get(legacy_id)
        if variant is None or variant.deleted:
            raise KeyError(f"no variant {legacy_id}")
        return variant

    def live_variants(self, advert: AdvertRecord) -> list[VariantRecord]:
        return [v for v in (self.variants[i] for i in advert.variant_ids) if not v.deleted]

    def add_advert(self, title: str, variants: list[dict], seller_id: int = 1) -> tuple[AdvertRecord, list[Change]]:
        stamp = self._stamp()
        advert = AdvertRecord(self._new_id("advert"), title, seller_id, "online", stamp, stamp, -1, [])
        self.adverts[advert.legacy_id] = advert
        self._log(advert, stamp)
        changes = [Change("ADVERT", "create", global_id("Advert", advert.legacy_id))]
        for spec in variants or [{}]:
            changes += self.add_variant(advert.legacy_id, **spec)[1]
        return advert, changes

    def add_variant(
        self,
        advert_id: int,
        sku: str | None = None,
        price: str = "10.00",
        count_on_hand: int = 0,
        options: list[int] | None = None,
        barcode: str | None = None,
        weight_kg: float | None = None,
        rrp: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> tuple[VariantRecord, list[Change]]:
        advert = self.advert(advert_id)
        stamp = self._stamp()
        variant = VariantRecord(
            self._new_id("variant"), advert_id, sku, barcode, str(price), int(count_on_hand),
            tuple(options or ()), weight_kg, stamp, rrp=rrp, metadata=_metadata(metadata),
        )
        self.variants[variant.legacy_id] = variant
        advert.variant_ids.append(variant.legacy_id)
        self._log(advert, stamp)
        return variant, [
            Change("VARIANT", "create", global_id("Variant", variant.legacy_id)),
            Change("ADVERT", "update", global_id("Advert", advert_id)),
        ]

    def update_variant(self, legacy_id: int, **fields) -> list[Change]:
        """Change `price`, `count_on_hand`, `sku`, `barcode`, `weight_kg`, `rrp` or `metadata` (the whole
        key/value list) of a variant."""
        variant = self.variant(legacy_id)
        for name, value in fields.items():
            if name not in ("price", "count_on_hand", "sku", "barcode", "weight_kg", "rrp", "metadata"):
                raise ValueError(f"a variant has no field {name!r}")
            setattr(variant, name, str(value) if name == "price" else _metadata(value) if name == "metadata" else value)
        variant.updated_at = self._stamp()
        self._log(self.advert(variant.advert_id), variant.updated_at)
        return [
            Change("VARIANT", "update", global_id("Variant", legacy_id)),
            Change("ADVERT", "update", global_id("Advert", variant.advert_id)),
        ]

    def delete_variant(self, legacy_id: int) -> list[Change]:
        variant = self.variant(legacy_id)
        variant.deleted = True
        self._log(self.advert(variant.advert_id), self._stamp())
        return [
            Change("VARIANT", "destroy", global_id("Variant", legacy_id)),
            Change("ADVERT", "update", global_id("Advert", variant.advert_id)),
        ]

    def update_advert(self, legacy_id: int, *, title: str | None = None, state: str | None = None,
                      rrp: str | None = None) -> list[Change]:
        advert = self.advert(legacy_id)
        if advert.state == "deleted":
            raise KeyError(f"advert {legacy_id} is deleted")
        if state is not None and state not in ADVERT_STATES:
            raise ValueError(f"state must be one of {', '.join(ADVERT_STATES)}")
        if title is not None:
            advert.title = title
        if rrp is not None:
            advert.rrp = rrp
        if state is not None:
            advert.state = state
        self._log(advert, self._stamp())
        event = "destroy" if advert.state == "deleted" else "update"
        return [Change("ADVERT", event, global_id("Advert", legacy_id))]

    def delete_advert(self, legacy_id: int) -> list[Change]:
        return self.update_advert(legacy_id, state="deleted")

    # ---- orders ----

    def place_order(
        self,
        lines: list[dict],
        buyer: dict[str, str | None],
        address: dict[str, str | None] | None = None,
        sparklayer_cart_id: str | None = None,
        billing_address: dict[str, str | None] | None = None,
    ) -> tuple[OrderRecord, list[Change]]:
        """An order for `lines` [{variant_id, quantity}], split into one invoice per seller; stock must cover it.

        `buyer` takes emailAddress, firstName, surname, phone and companyName; an address takes address,
        city, state, postcode and country (and firstName, surname, phone, companyName for billing)."""
        wanted = [(self.variant(int(line["variant_id"])), int(line["quantity"])) for line in lines]
        if not wanted:
            raise ValueError("an order needs at least one line")
        stamp = self._stamp()
        order = OrderRecord(
            self._new_id("order"), stamp, stamp,
            {"sparklayer": sparklayer_cart_id} if sparklayer_cart_id else {},
            dict(buyer), dict(address or {}), [], billing_address=dict(billing_address or address or {}),
        )
        self._check_stock(wanted)
        self.orders[order.legacy_id] = order
        changes: list[Change] = []
        for variant, quantity in wanted:
            changes += self._add_line(order, variant, quantity, stamp)[1]
        return order, changes

    def _check_stock(self, wanted: list[tuple[VariantRecord, int]]) -> None:
        for variant, quantity in wanted:
            if quantity < 1 or quantity > variant.count_on_hand:
                raise ValueError(f"variant {variant.legacy_id} has {variant.count_on_hand} on hand, not {quantity}")

    def _add_line(self, order: OrderRecord, variant: VariantRecord, quantity: int,
                  stamp: int) -> tuple[LineItemRecord, list[Change]]:
        """A line on the invoice of the variant's seller (created when the order has none yet)."""
        advert = self.advert(variant.advert_id)
        changes: list[Change] = []
        invoice = next((self.invoices[i] for i in order.invoice_ids if self.invoices[i].seller_id == advert.seller_id),
                       None)
        if invoice is None:
            invoice = InvoiceRecord(self._new_id("invoice"), order.legacy_id, advert.seller_id, stamp, stamp, [])
            self.invoices[invoice.legacy_id] = invoice
            order.invoice_ids.append(invoice.legacy_id)
            changes.append(Change("INVOICE", "create", global_id("Invoice", invoice.legacy_id)))
        item = LineItemRecord(
            self._new_id("line_item"), invoice.legacy_id, variant.legacy_id, variant.sku, variant.barcode,
            advert.title, quantity, _cents(variant.price),
        )
        self.line_items[item.legacy_id] = item
        invoice.line_item_ids.append(item.legacy_id)
        changes += self.update_variant(variant.legacy_id, count_on_hand=variant.count_on_hand - quantity)
        return item, changes

    # ---- what has happened to each line ----

    def shipped(self, item: LineItemRecord) -> int:
        invoice = self.invoices[item.invoice_id]
        return sum(q for s in invoice.shipments for line_id, q in s.items if line_id == item.legacy_id)

    def refunded(self, item: LineItemRecord, *, dispatched: bool | None = None) -> int:
        invoice = self.invoices[item.invoice_id]
        return sum(q for r in invoice.refunds for line_id, q, _, was_dispatched in r.items
                   if line_id == item.legacy_id and dispatched in (None, was_dispatched))

    def awaiting_dispatch(self, item: LineItemRecord) -> int:
        return max(0, item.quantity - item.cancelled_quantity - self.shipped(item) - self.refunded(item, dispatched=False))

    def line_status(self, item: LineItemRecord) -> tuple[str, str]:
        """(status, statusFull) as LineItemStatusEnum and LineItemStatusFullEnum."""
        if item.cancelled_quantity >= item.quantity:
            return "CANCELLED", "CANCELLED"
        if self.refunded(item) >= item.quantity - item.cancelled_quantity:
            return "REFUNDED", "REFUNDED"
        if self.awaiting_dispatch(item) == 0 and self.shipped(item):
            return "ALLOCATED", "SHIPPED"
        return "ALLOCATED", "ALLOCATED"

    # ---- order changes ----

    def invoice(self, legacy_id: int) -> InvoiceRecord:
        invoice = self.invoices.get(legacy_id)
        if invoice is None:
            raise KeyError(f"no invoice {legacy_id}")
        return invoice

    def _chosen(self, invoice: InvoiceRecord, items: list[dict] | None, room) -> list[tuple[int, int]]:
        """(line item id, quantity) pairs, each at most `room(line)`; without `items`, all of that room."""
        if not items:
            return [(i, room(self.line_items[i])) for i in invoice.line_item_ids if room(self.line_items[i]) > 0]
        chosen = []
        for item in items:
            line_id, quantity = int(item["line_item_id"]), int(item["quantity"])
            if line_id not in invoice.line_item_ids:
                raise ValueError(f"line item {line_id} is not on invoice {invoice.legacy_id}")
            available = room(self.line_items[line_id])
            if not 1 <= quantity <= available:
                raise ValueError(f"line item {line_id} has {available} that can take this, not {quantity}")
            chosen.append((line_id, quantity))
        if not chosen:
            raise ValueError("nothing to do on this invoice")
        return chosen

    def _touch_invoice(self, invoice: InvoiceRecord) -> list[Change]:
        invoice.updated_at = self._stamp()
        self.orders[invoice.order_id].updated_at = invoice.updated_at
        return [Change("INVOICE", "update", global_id("Invoice", invoice.legacy_id))]

    def ship(self, invoice_id: int, items: list[dict] | None = None, carrier: str | None = "AusPost",
             tracking_number: str | None = None) -> tuple[ShipmentRecord, list[Change]]:
        invoice = self.invoice(invoice_id)
        chosen = self._chosen(invoice, items, self.awaiting_dispatch)
        package_id = self._new_id("package")
        tracking = tracking_number or f"TRK{package_id:08d}"
        shipment = ShipmentRecord(package_id, self._stamp(), carrier or "Other", tracking,
                                  f"https://track.example/{tracking}", chosen)
        invoice.shipments.append(shipment)
        return shipment, self._touch_invoice(invoice) + [Change("SHIPMENT", "create", global_id("Shipment", package_id))]

    def refund(self, invoice_id: int, items: list[dict] | None = None) -> tuple[RefundRecord, list[Change]]:
        """Refund quantities of lines; what was shipped and not yet refunded counts as dispatched first."""
        invoice = self.invoice(invoice_id)
        chosen = self._chosen(invoice, items, lambda line: line.quantity - line.cancelled_quantity - self.refunded(line))
        refunded = []
        for line_id, quantity in chosen:
            line = self.line_items[line_id]
            dispatched = min(quantity, self.shipped(line) - self.refunded(line, dispatched=True))
            for part, was_dispatched in ((dispatched, True), (quantity - dispatched, False)):
                if part > 0:
                    refunded.append((line_id, part, line.unit_price_cents * part, was_dispatched))
        refund = RefundRecord(self._new_id("package"), self._stamp(), "REFUNDED", refunded)
        invoice.refunds.append(refund)
        return refund, self._touch_invoice(invoice) + [
            Change("REFUND_REQUEST", "create", global_id("RefundRequest", refund.legacy_id))
        ]

    def cancel(self, invoice_id: int, items: list[dict] | None = None) -> list[Change]:
        """Cancel quantities not yet dispatched."""
        invoice = self.invoice(invoice_id)
        for line_id, quantity in self._chosen(invoice, items, self.awaiting_dispatch):
            self.line_items[line_id].cancelled_quantity += quantity
        return self._touch_invoice(invoice)

    def amend(self, order_id: int, *, quantities: dict[int, int] | None = None,
              add: list[dict] | None = None) -> list[Change]:
        """An order changed after it was placed: new quantities of lines not yet dispatched (line item id ->
        quantity), and new lines [{variant_id, quantity}]."""
        order = self.orders.get(order_id)
        if order is None:
            raise KeyError(f"no order {order_id}")
        changes: list[Change] = []
        touched: set[int] = set()
        for line_id, quantity in (quantities or {}).items():
            line = self.line_items.get(int(line_id))
            if line is None or line.invoice_id not in order.invoice_ids:
                raise ValueError(f"line item {line_id} is not on order {order_id}")
            floor = line.quantity - self.awaiting_dispatch(line)
            if int(quantity) < max(1, floor):
                raise ValueError(f"line item {line_id} cannot go below {max(1, floor)}")
            line.quantity = int(quantity)
            touched.add(line.invoice_id)
        wanted = [(self.variant(int(line["variant_id"])), int(line["quantity"])) for line in add or []]
        self._check_stock(wanted)
        stamp = self._stamp()
        for variant, quantity in wanted:
            item, added = self._add_line(order, variant, quantity, stamp)
            changes += added
            touched.add(item.invoice_id)
        for invoice_id in sorted(touched):
            changes += self._touch_invoice(self.invoices[invoice_id])
        return changes

    def page_invoices(self, filters: dict, after_legacy: int | None, first: int):
        """Invoices matching `filters`, ordered by (updatedAt, legacyId); small volumes, so a sorted scan."""
        since = parse_iso_us(filters["updatedSince"]) if filters.get("updatedSince") else None
        until = parse_iso_us(filters["updatedUntil"]) if filters.get("updatedUntil") else None
        email = filters.get("buyerEmailAddress")
        matching = sorted(
            (
                invoice for invoice in self.invoices.values()
                if (since is None or invoice.updated_at >= since)
                and (until is None or invoice.updated_at <= until)
                and (email is None or self.orders[invoice.order_id].buyer.get("emailAddress") == email)
                and (filters.get("orderId") is None or invoice.order_id == filters["orderId"])
                and (filters.get("legacyId") is None or invoice.legacy_id == filters["legacyId"])
            ),
            key=lambda invoice: (invoice.updated_at, invoice.legacy_id),
        )
        start = 0
        if after_legacy is not None:
            start = next((i + 1 for i, inv in enumerate(matching) if inv.legacy_id == after_legacy), len(matching))
        page = matching[start:start + first]
        return page, start + first < len(matching), len(matching)
