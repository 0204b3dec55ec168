"""Orders to SparkLayer's Purchasing API: the whole purchase each time, found by its SparkLayer cart id.

A purchase is made of packages: lines not yet shipped, refunded or cancelled sit in a `processing`
package; each shipment, refund and cancellation the platform reports is a package of its own. The
hash of the last accepted purchase keeps an unchanged order from being sent again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from pydantic import ValidationError

from ignite_etl.diff import record_hash
from ignite_etl.model import Address, Order, PackageItem
from ignite_etl.sparklayer import models as sl
from ignite_etl.sparklayer.client import SparkLayerClient
from ignite_etl.store import purchases as purchase_state
from ignite_etl.store import sync_log
from ignite_etl.store.database import Conn, Database
from ignite_etl.store.sync_log import SyncError
from ignite_etl.sync.payloads import address_body

log = logging.getLogger(__name__)

DATA_TYPE = "purchases"


class PurchaseNotSendable(ValueError):
    """The order cannot be expressed as a purchase SparkLayer accepts; the message says why."""


def purchase_for(order: Order) -> sl.Purchase:
    """The whole purchase for an order that carries a SparkLayer cart id."""
    if not order.sparklayer_id and not order.imported:
        raise PurchaseNotSendable("the order was not placed through SparkLayer (it has no SparkLayer cart id)")
    if order.unreadable:
        raise PurchaseNotSendable(order.unreadable)
    lines = {line.external_id: line for line in order.lines}
    for line in order.lines:
        if not line.sku:
            raise PurchaseNotSendable(f"order line {line.external_id} has no SKU")
        if line.unit_price is None:
            raise PurchaseNotSendable(f"order line {line.external_id} (SKU {line.sku}) has no price")

    def items(quantities: Iterable[tuple[str, int]]) -> list[sl.LineItem]:
        out = []
        for line_id, quantity in quantities:
            line = lines.get(line_id)
            if line is None or quantity < 1 or not line.sku or line.unit_price is None:
                continue  # lines without a SKU or a price were refused above
            out.append(sl.LineItem(sku=line.sku, name=line.name, quantity=quantity, price=line.unit_price))
        return out

    def package_items(package_items: Sequence[PackageItem]) -> list[sl.LineItem]:
        return items((i.line_external_id, i.quantity) for i in package_items)

    shipping_address = _address(order.shipping_address, "shipping")
    packages: list[sl.Package] = []
    processing = items(order.processing_quantities().items())
    if processing:
        packages.append(sl.Package(type="processing", line_items=processing, created_at=order.created_at,
                                   shipping_address=shipping_address, shipping_method=order.shipping_method))
    for shipment in order.net_shipments():
        line_items = package_items(shipment.items)
        if line_items:
            packages.append(sl.Package(
                type="shipment", line_items=line_items, created_at=shipment.shipped_at, shipped_at=shipment.shipped_at,
                tracking_number=shipment.tracking_number, shipping_method=shipment.carrier,
                shipping_address=shipping_address,
            ))
    for refund in order.refunds:
        line_items = package_items(refund.items)
        if line_items:
            packages.append(sl.Package(type="refund", line_items=line_items, created_at=refund.refunded_at))
    for cancellation in order.cancellations:
        line_items = package_items(cancellation.items)
        if line_items:
            packages.append(sl.Package(type="cancelled", line_items=line_items,
                                       created_at=cancellation.cancelled_at))
    if not packages:
        raise PurchaseNotSendable("the order has no line items")
    customer = None
    if order.customer or order.customer_email:
        customer = sl.PurchaseCustomer(
            external_id=order.customer.external_id if order.customer else None,
            email=order.customer.email if order.customer else order.customer_email,
        )
    try:
        return sl.Purchase(
            type="order",
            purchase_identifiers=sl.PurchaseIdentifiers(
                sparklayer=order.sparklayer_id, platform=order.external_id, visible=order.visible_id
            ),
            currency_code=order.currency or "",
            customer=customer,
            created_at=order.created_at,
            billing_address=_address(order.billing_address, "billing"),
            packages=packages,
        )
    except ValidationError as exc:
        raise PurchaseNotSendable(_first_problem(exc)) from None


def _address(address: Address | None, which: str) -> sl.Address | None:
    if address is None:
        return None
    try:
        return address_body(address.model_dump(exclude_none=True))
    except ValidationError as exc:
        raise PurchaseNotSendable(f"its {which} address cannot be sent ({_first_problem(exc)})") from None


def _first_problem(exc: ValidationError) -> str:
    first = exc.errors()[0]
    return f"{'.'.join(str(p) for p in first.get('loc', ()))}: {first.get('msg')}"


def order_error(order: Order, reason: str, store_name: str) -> SyncError:
    """What the merchant reads when an order cannot be sent or SparkLayer refuses it."""
    visible = order.visible_id or order.external_id
    return SyncError(
        external_id=f"order:{order.external_id}",
        entity="order",
        message=f"Order {visible} could not be sent to SparkLayer: {reason}",
        resolution=f"Correct order {visible} in {store_name}; it is sent again when it next changes.",
        visible_id=visible,
    )


@dataclass
class OrdersReport:
    written: list[str] = field(default_factory=list)  # order ids
    unchanged: list[str] = field(default_factory=list)
    errors: list[SyncError] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)  # sync-log ids no longer in error


class PurchaseWriter:
    """Sends orders as whole purchases and records what SparkLayer accepted, order by order."""

    def __init__(self, client: SparkLayerClient, db: Database, connection_id: str, *,
                 store_name: str = "the store"):
        self._client = client
        self._db = db
        self._connection_id = connection_id
        self._store_name = store_name

    async def write(
        self, orders: Sequence[Order], *, settle_with: Callable[[Conn], None] | None = None
    ) -> OrdersReport:
        """Write what changed; `settle_with` commits with the state of the last order (or alone)."""
        report = OrdersReport()
        planned: list[tuple[Order, sl.Purchase, str]] = []
        for order in orders:
            try:
                purchase = purchase_for(order)
            except PurchaseNotSendable as exc:
                report.errors.append(order_error(order, str(exc), self._store_name))
                continue
            planned.append((order, purchase, record_hash(purchase.to_body())))
        with self._db.connect() as conn:
            known = purchase_state.hashes(conn, self._connection_id, [o.external_id for o, _, _ in planned])
        todo = []
        for order, purchase, hash_ in planned:
            if known.get(order.external_id) == hash_:
                report.unchanged.append(order.external_id)
            else:
                todo.append((order, purchase, hash_))
        # Transient failures raise out of here: rows stay pending, accepted orders keep their state.
        for index, (order, purchase, hash_) in enumerate(todo):
            result = await self._client.put_purchase(purchase)  # by its cart id, else (imported) its platform id
            with self._db.connect() as conn, conn.transaction():
                if result.ok:
                    purchase_state.advance(conn, self._connection_id, order.external_id, order.sparklayer_id, hash_,
                                           purchase.to_body())
                    report.written.append(order.external_id)
                else:
                    report.errors.append(order_error(order, result.error_message or f"HTTP {result.status_code}",
                                                     self._store_name))
                if index == len(todo) - 1 and settle_with is not None:
                    settle_with(conn)
        with self._db.connect() as conn, conn.transaction():
            if report.errors:
                sync_log.record_errors(conn, self._connection_id, DATA_TYPE, report.errors)
            if not todo and settle_with is not None:
                settle_with(conn)
        failed = {e.external_id for e in report.errors}
        report.resolved = [f"order:{oid}" for oid in report.written + report.unchanged if f"order:{oid}" not in failed]
        return report
