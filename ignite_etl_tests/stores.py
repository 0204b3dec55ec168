"""The same store edits on either platform's simulator, so one sync test runs for every platform (parametrised,
not copied). A driver reads what SparkLayer should hold straight from the simulator's records, never through
our mapping, and names products and variants by the external ids SparkLayer holds them under."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Protocol

from ignite_etl.sandbox.marketplacer.sandbox import MarketplacerSandbox
from ignite_etl.sandbox.shopify.sandbox import ShopifySandbox


@dataclass(frozen=True)
class LiveVariant:
    external_id: str
    sku: str
    price: Decimal | None  # None: not a number (a broken record)
    stock: dict[str, int]  # SparkLayer stock location external id -> level


@dataclass(frozen=True)
class LiveProduct:
    external_id: str
    title: str
    variants: tuple[LiveVariant, ...]


@dataclass(frozen=True)
class PlacedOrder:
    """An order a buyer placed: its platform id, the id the merchant reads, its lines' handles (the driver's
    own) and SKUs, in the order placed."""

    order_id: str
    visible: str
    lines: tuple
    skus: tuple[str, ...]


BUYER_EMAIL = "buyer@example.com"


class StoreDriver(Protocol):
    platform: str
    price_list: str

    def generate(self, size: int, seed: int, broken_rate: float = 0.0) -> list[str]:
        """`size` seeded products; the external ids of variants made without a SKU."""

    def live(self) -> dict[str, LiveProduct]:
        """What SparkLayer should hold: live products with at least one SKU, by external id."""

    def problem_key(self, variant: str) -> str:
        """The sync-log error id of a variant that could not be synced (`variant:<platform's number>`)."""

    def set_price(self, variant: str, price: str) -> None: ...
    def set_stock(self, variant: str, level: int) -> str:
        """Set the variant's stock at one location; that location's SparkLayer external id."""
    def set_title(self, product: str, title: str) -> None: ...
    def set_sku(self, variant: str, sku: str) -> None: ...
    def delete_product(self, product: str) -> None: ...
    def add_product(self, title: str, variants: list[tuple[str, str, int]]) -> str:
        """A live product of (sku, price, stock) variants, its stock at one location; its external id."""
    def add_variant(self, product: str, sku: str, price: str, stock: int) -> str: ...
    def deliver_webhooks(self) -> None: ...
    def forget_webhooks(self) -> None:
        """Drop what the simulator would still deliver (the edits made before a test starts)."""
    def app(self) -> dict[str, str]:
        """The app's credentials an app-store platform's adapter takes (none for Marketplacer)."""
    def place_order(self, cart_id: str | None, quantities: tuple[int, ...] = (2, 3)) -> PlacedOrder:
        """A buyer's order of live variants with stock, through SparkLayer's cart `cart_id` (None: not)."""
    def ship(self, order: PlacedOrder, line: int, quantity: int) -> None: ...
    def refund(self, order: PlacedOrder, line: int, quantity: int) -> None:
        """Refund shipped units of a line: they come back."""
    def cancel(self, order: PlacedOrder, line: int, quantity: int) -> None:
        """Cancel units of a line not yet shipped."""
    def amend(self, order: PlacedOrder, quantities: dict[int, int]) -> str:
        """An order edit: lines (by position) to new quantities, and a new line of one unit of another variant;
        that variant's SKU."""
    def add_b2b_customer(self, email: str, first_name: str, last_name: str) -> str:
        """A customer SparkLayer should hold; its external id there."""
    def rename_customer(self, external_id: str, first_name: str) -> None: ...


def _decimal(value: str | None) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _mp_gid(kind: str, legacy_id: int) -> str:
    return base64.b64encode(f"{kind}-{legacy_id}".encode()).decode()


def _mp_legacy(external_id: str) -> int:
    return int(base64.b64decode(external_id).decode().rpartition("-")[2])


class MarketplacerDriver:
    platform = "marketplacer"
    price_list = "marketplacer-price"

    def __init__(self, sandbox: MarketplacerSandbox):
        self.sandbox = sandbox

    def generate(self, size: int, seed: int, broken_rate: float = 0.0) -> list[str]:
        report = self.sandbox.generate(size, seed=seed, broken_rate=broken_rate)
        return [_mp_gid("Variant", v) for v in report.broken.get("variant_without_sku", [])]

    def live(self) -> dict[str, LiveProduct]:
        catalogue = self.sandbox.catalogue
        out = {}
        for advert in catalogue.adverts.values():
            if advert.state != "online":
                continue
            variants = tuple(LiveVariant(_mp_gid("Variant", v.legacy_id), v.sku, _decimal(v.price),
                                         {"marketplacer": v.count_on_hand})
                             for v in catalogue.live_variants(advert) if v.sku)
            if variants:
                out[_mp_gid("Advert", advert.legacy_id)] = LiveProduct(_mp_gid("Advert", advert.legacy_id),
                                                                        advert.title, variants)
        return out

    def problem_key(self, variant: str) -> str:
        return f"variant:{_mp_legacy(variant)}"

    def set_price(self, variant: str, price: str) -> None:
        self.sandbox.set_price(_mp_legacy(variant), price)

    def set_stock(self, variant: str, level: int) -> str:
        self.sandbox.set_stock(_mp_legacy(variant), level)
        return "marketplacer"

    def set_title(self, product: str, title: str) -> None:
        self.sandbox.set_title(_mp_legacy(product), title)

    def set_sku(self, variant: str, sku: str) -> None:
        self.sandbox.update_variant(_mp_legacy(variant), sku=sku)

    def delete_product(self, product: str) -> None:
        self.sandbox.delete_advert(_mp_legacy(product))

    def add_product(self, title: str, variants: list[tuple[str, str, int]]) -> str:
        advert = self.sandbox.add_advert(title, [{"sku": s, "price": p, "count_on_hand": n} for s, p, n in variants])
        return _mp_gid("Advert", advert)

    def add_variant(self, product: str, sku: str, price: str, stock: int) -> str:
        return _mp_gid("Variant", self.sandbox.add_variant(_mp_legacy(product), sku=sku, price=price,
                                                           count_on_hand=stock))

    def deliver_webhooks(self) -> None:
        self.sandbox.deliver_webhooks()

    def forget_webhooks(self) -> None:
        self.sandbox.webhooks.events.clear()

    def app(self) -> dict[str, str]:
        return {}

    def place_order(self, cart_id: str | None, quantities: tuple[int, ...] = (2, 3)) -> PlacedOrder:
        catalogue = self.sandbox.catalogue
        variants = [v for v in catalogue.variants.values() if v.sku and not v.deleted and v.count_on_hand >= max(quantities)
                    and catalogue.adverts[v.advert_id].state == "online"][:len(quantities)]
        placed = self.sandbox.place_order(
            [{"variant_id": v.legacy_id, "quantity": q} for v, q in zip(variants, quantities)],
            buyer={"emailAddress": BUYER_EMAIL, "firstName": "Ada", "surname": "Lovelace"},
            address={"address": "1 Analytical Way", "city": "Sydney", "postcode": "2000", "countryCode": "AU"},
            sparklayer_cart_id=cart_id)
        lines = tuple((catalogue.line_items[i].invoice_id, i) for i in placed["line_item_ids"])
        return PlacedOrder(_mp_gid("Order", placed["order_id"]), str(placed["order_id"]), lines,
                           tuple(v.sku for v in variants))

    def amend(self, order: PlacedOrder, quantities: dict[int, int]) -> str:
        catalogue = self.sandbox.catalogue
        extra = next(v for v in catalogue.variants.values() if v.sku and v.sku not in order.skus and v.count_on_hand
                     and not v.deleted and catalogue.adverts[v.advert_id].state == "online")
        self.sandbox.amend_order(int(base64.b64decode(order.order_id).decode().rpartition("-")[2]),
                                 quantities={order.lines[n][1]: q for n, q in quantities.items()},
                                 add=[{"variant_id": extra.legacy_id, "quantity": 1}])
        return extra.sku

    def add_b2b_customer(self, email: str, first_name: str, last_name: str) -> str:
        """Marketplacer has no customer list: the buyer of a SparkLayer order is one, known by email."""
        variant = next(v for v in self.sandbox.catalogue.variants.values() if v.sku and v.count_on_hand and not v.deleted)
        self.sandbox.place_order([{"variant_id": variant.legacy_id, "quantity": 1}],
                                 buyer={"emailAddress": email, "firstName": first_name, "surname": last_name},
                                 address={"address": "1 Analytical Way", "city": "Sydney", "postcode": "2000",
                                          "countryCode": "AU"}, sparklayer_cart_id=f"cart-{email}")
        return email

    def rename_customer(self, external_id: str, first_name: str) -> None:
        for order in self.sandbox.catalogue.orders.values():
            if order.buyer.get("emailAddress") == external_id:
                order.buyer["firstName"] = first_name

    def ship(self, order: PlacedOrder, line: int, quantity: int) -> None:
        invoice, item = order.lines[line]
        self.sandbox.ship(invoice, [{"line_item_id": item, "quantity": quantity}])

    def refund(self, order: PlacedOrder, line: int, quantity: int) -> None:
        invoice, item = order.lines[line]
        self.sandbox.refund(invoice, [{"line_item_id": item, "quantity": quantity}])

    def cancel(self, order: PlacedOrder, line: int, quantity: int) -> None:
        invoice, item = order.lines[line]
        self.sandbox.cancel(invoice, [{"line_item_id": item, "quantity": quantity}])


class ShopifyDriver:
    platform = "shopify"
    price_list = "shopify-price"

    def __init__(self, sandbox: ShopifySandbox):
        self.sandbox = sandbox

    def generate(self, size: int, seed: int, broken_rate: float = 0.0) -> list[str]:
        before = set(self.sandbox.shop.variants)
        self.sandbox.generate(size, seed=seed, broken_rate=broken_rate)
        shop = self.sandbox.shop
        return [str(v) for v in shop.variants if v not in before and not shop.variants[v].sku]

    def live(self) -> dict[str, LiveProduct]:
        shop = self.sandbox.shop
        out = {}
        for product in shop.products.values():
            if product.status != "ACTIVE":
                continue
            variants = tuple(LiveVariant(str(v.id), v.sku, _decimal(v.price),
                                         {str(loc): n for loc, n in v.levels.items()})
                             for v in (shop.variants[i] for i in product.variant_ids) if v.sku)
            if variants:
                out[str(product.id)] = LiveProduct(str(product.id), product.title, variants)
        return out

    def problem_key(self, variant: str) -> str:
        return f"variant:{variant}"

    def set_price(self, variant: str, price: str) -> None:
        self.sandbox.update_variant(int(variant), price=price)

    def set_stock(self, variant: str, level: int) -> str:
        location = next(iter(self.sandbox.shop.locations))
        self.sandbox.set_stock(int(variant), level, location)
        return str(location)

    def set_title(self, product: str, title: str) -> None:
        self.sandbox.update_product(int(product), title=title)

    def set_sku(self, variant: str, sku: str) -> None:
        self.sandbox.update_variant(int(variant), sku=sku)

    def delete_product(self, product: str) -> None:
        self.sandbox.delete_product(int(product))

    def add_product(self, title: str, variants: list[tuple[str, str, int]]) -> str:
        return str(self.sandbox.add_product(title, [{"sku": s, "price": p, "stock": n, "options": [("Size", s)]}
                                                    for s, p, n in variants]))

    def add_variant(self, product: str, sku: str, price: str, stock: int) -> str:
        return str(self.sandbox.add_variant(int(product), sku=sku, price=price, stock=stock, options=[("Size", sku)]))

    def deliver_webhooks(self) -> None:
        self.sandbox.deliver_webhooks()

    def forget_webhooks(self) -> None:
        self.sandbox.webhooks.pending.clear()

    def app(self) -> dict[str, str]:
        return {"client_id": self.sandbox.app.client_id, "client_secret": self.sandbox.app.client_secret}

    def place_order(self, cart_id: str | None, quantities: tuple[int, ...] = (2, 3)) -> PlacedOrder:
        """Through SparkLayer's checkout: the cart id and payment type as note attributes, each line's
        `Charged Price` property (the variant's price here)."""
        shop = self.sandbox.shop
        buyer = shop.customer_by_email(BUYER_EMAIL)
        customer = buyer.id if buyer else self.sandbox.add_customer(BUYER_EMAIL, first_name="Ada", last_name="Lovelace")
        variants = [v for v in shop.variants.values() if v.sku and shop.products[v.product_id].status == "ACTIVE"
                    ][:len(quantities)]
        order_id, line_ids = self.sandbox.add_order(
            customer, [{"variant_id": v.id, "quantity": q, "properties": [("Charged Price", v.price)]}
                       for v, q in zip(variants, quantities)],
            attributes=[("sparkCartId", cart_id), ("sparkPaymentType", "paymentOnAccount")] if cart_id else [],
            shipping_address={"address1": "1 Analytical Way", "city": "Sydney", "zip": "2000", "country_code": "AU"})
        return PlacedOrder(str(order_id), shop.orders[order_id].name, tuple(line_ids), tuple(v.sku for v in variants))

    def amend(self, order: PlacedOrder, quantities: dict[int, int]) -> str:
        shop = self.sandbox.shop
        extra = next(v for v in shop.variants.values() if v.sku and v.sku not in order.skus
                     and shop.products[v.product_id].status == "ACTIVE")
        self.sandbox.amend_order(int(order.order_id), quantities={order.lines[n]: q for n, q in quantities.items()},
                                 add=[{"variant_id": extra.id, "quantity": 1}])
        return extra.sku

    def add_b2b_customer(self, email: str, first_name: str, last_name: str) -> str:
        return str(self.sandbox.add_customer(email, first_name=first_name, last_name=last_name, tags=["b2b"]))

    def rename_customer(self, external_id: str, first_name: str) -> None:
        self.sandbox.update_customer(int(external_id), first_name=first_name)

    def ship(self, order: PlacedOrder, line: int, quantity: int) -> None:
        self.sandbox.fulfill(int(order.order_id), {order.lines[line]: quantity}, company="AusPost",
                             number=f"AP{order.order_id}{line}")

    def refund(self, order: PlacedOrder, line: int, quantity: int) -> None:
        self.sandbox.refund(int(order.order_id), {order.lines[line]: (quantity, "RETURN")})

    def cancel(self, order: PlacedOrder, line: int, quantity: int) -> None:
        self.sandbox.refund(int(order.order_id), {order.lines[line]: (quantity, "CANCEL")})
