"""The periodic orders pass: every SparkLayer order whose invoices changed since the last pass is sent
again as a whole purchase (unchanged ones are skipped by their hash). It catches what webhooks missed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from ignite_etl.platforms import Platform
from ignite_etl.sparklayer.client import SparkLayerClient
from ignite_etl.store import order_pass
from ignite_etl.store.connections import Connection
from ignite_etl.store.database import Conn, Database
from ignite_etl.sync.orders import OrdersReport
from ignite_etl.sync.partial import send_orders
from ignite_etl.sync.sync_log import utc_now

# The next pass starts this long before the last one did, so a clock skew between us and the
# platform or an invoice updated during the pass is not missed.
OVERLAP = timedelta(minutes=5)


def last_pass(db: Database, connection_id: str) -> datetime | None:
    with db.connect() as conn:
        return order_pass.updated_since(conn, connection_id)


def run_order_pass(
    db: Database,
    connection: Connection,
    *,
    platform: Callable[[], Platform],
    sparklayer: Callable[[], SparkLayerClient],
    sync_id: str,
    clock: Callable[[], datetime] = utc_now,
) -> OrdersReport:
    started = clock()
    since = last_pass(db, connection.id)
    with platform() as source:
        orders = list(source.iter_orders(since))

    def advance(conn: Conn) -> None:
        order_pass.advance(conn, connection.id, started - OVERLAP)

    async def main() -> OrdersReport:
        async with sparklayer() as client:
            return await send_orders(client, db, connection, sync_id, orders, clock, settle_with=advance)

    return asyncio.run(main())
