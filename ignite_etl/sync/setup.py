"""A SparkLayer site set up for its platform: the platform's price list, its stock locations and the store's
base currency. Run on completion and at the start of every full sync, before any data is written.

The price list and the stock locations come first, because prices and stock cannot be written without
them; a refusal of either stops the step. The base currency comes last, and SparkLayer refusing it
(it refuses API keys created in the Dashboard) is a sync-log error the merchant can act on: the rest
of the setup and the syncs that follow still run. So is a price list SparkLayer already holds in
another currency (the store's currency changed): SparkLayer's API cannot change a list's currency.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ignite_etl.diff import Accepted, record_hash
from ignite_etl.model import StockLocation
from ignite_etl.sparklayer import models as sl
from ignite_etl.sparklayer.client import SparkLayerClient
from ignite_etl.sparklayer.errors import RecordRejected
from ignite_etl.store import sync_log, sync_state
from ignite_etl.store.database import Database
from ignite_etl.store.sync_log import SyncError
from ignite_etl.sync.sync_log import SyncLogReporter

log = logging.getLogger(__name__)

DATA_TYPE = "products"  # the sync log a setup problem is shown under
BASE_CURRENCY = ("setting", "baseCurrency")
BASE_CURRENCY_ERROR = "setting:baseCurrency"
PRICE_LIST_ERROR = "price_list:{slug}"


class SiteSetupFailed(RuntimeError):
    """SparkLayer refused the price list or a stock location: nothing can be priced or stocked."""


@dataclass
class SiteSetup:
    base_currency: str
    price_list: str
    stock_locations: list[str]
    written: list[str] = field(default_factory=list)  # what this call changed, e.g. "price_list:<slug>"
    refused: list[SyncError] = field(default_factory=list)  # what the merchant must put right in SparkLayer

    @property
    def failure_reason(self) -> str | None:
        return "; ".join(e.message for e in self.refused) or None


async def ensure_stock_locations(client: SparkLayerClient, db: Database, connection_id: str,
                                 locations: Sequence[StockLocation]) -> list[str]:
    """Create each location SparkLayer lacks (one it has answers 409); returns the external ids created.
    SparkLayer refuses stock for a location that does not exist, so this runs before stock is diffed and
    written; a location created again (the merchant deleted it) holds no stock, so what we remember of its
    stock is forgotten and the diff sends it all."""
    created = []
    for location in locations:
        result = await client.create_stock_location(sl.StockLocation(name=location.name, external_id=location.external_id))
        if not result.ok:
            raise SiteSetupFailed(f"SparkLayer refused the stock location {location.external_id}: {result.error_message}")
        if result.status_code != 409:
            created.append(location.external_id)
    if created:
        with db.connect() as conn, conn.transaction():
            forgotten = sync_state.forget_stock_at(conn, connection_id, created)
        if forgotten:
            log.info("stock location(s) %s of %s were created again; %d stock level(s) will be sent again",
                     ", ".join(created), connection_id, forgotten)
    return created


async def set_up_site(
    client: SparkLayerClient,
    db: Database,
    connection_id: str,
    *,
    price_list: sl.PriceList,
    locations: Sequence[StockLocation],
    reporter: SyncLogReporter,
    more_price_lists: Sequence[sl.PriceList] = (),
    dry_run: bool = False,
) -> SiteSetup:
    """Write what is missing or changed: `price_list` is the platform's own (its currency the base currency),
    `more_price_lists` the store's others (B2B catalogs'). Stock locations are created every time (a merchant
    can delete one in SparkLayer; an existing one answers 409, which counts as done). A refused base currency
    goes to the sync log through `reporter` (after opening the sync's log, so a full sync's start does not
    wipe it); an accepted one resolves the earlier refusal there."""
    currency = price_list.currency_code
    setup = SiteSetup(currency, price_list.slug, [loc.external_id for loc in locations])
    lists = {p.slug: p for p in (price_list, *more_price_lists)}
    wanted = {
        BASE_CURRENCY: record_hash({"key": "baseCurrency", "value": currency}),
        **{("price_list", slug): record_hash(p.to_body()) for slug, p in lists.items()},
    }
    with db.connect() as conn:
        state = sync_state.load_rows(conn, connection_id, wanted)
    stale = [key for key, hash_ in wanted.items() if key not in state or state[key].hash != hash_]
    if dry_run:
        setup.written = [f"{e}:{k}" for e, k in stale]
        return setup

    accepted: list[tuple[Accepted, None]] = []
    for slug, wanted_list in lists.items():
        if ("price_list", slug) not in stale:
            continue
        result, existing = await client.create_price_list(wanted_list)  # an existing slug counts as success
        if not result.ok:
            raise SiteSetupFailed(f"SparkLayer refused the price list {slug}: {result.error_message}")
        mismatch = _currency_mismatch(existing, wanted_list) if existing is not None else None
        if mismatch:
            setup.refused.append(mismatch)
        else:
            accepted.append((Accepted("price_list", slug, wanted[("price_list", slug)]), None))
            setup.written.append(f"price_list:{slug}")
    created = await ensure_stock_locations(client, db, connection_id, locations)
    setup.written += [f"stock_location:{external_id}" for external_id in created]
    if BASE_CURRENCY in stale:
        try:
            await client.set_base_currency(currency)
        except RecordRejected as exc:
            setup.refused.append(SyncError(
                external_id=BASE_CURRENCY_ERROR, entity="setting",
                message=f"SparkLayer refused to set the base currency to {currency}: {exc.message}",
                resolution=f"Set the base currency to {currency} in the SparkLayer Dashboard, or ask SparkLayer "
                           "support to allow this integration's API key to update settings; products, stock and "
                           "prices sync meanwhile.",
            ))
        else:
            accepted.append((Accepted(*BASE_CURRENCY, wanted[BASE_CURRENCY]), None))
            setup.written.append("setting:baseCurrency")
    with db.connect() as conn, conn.transaction():
        sync_state.advance(conn, connection_id, accepted)
        open_ids = {e["external_id"] for e in sync_log.open_errors(conn, connection_id, DATA_TYPE)}
        still_refused = {e.external_id for e in setup.refused}
        resolved = [external_id for external_id in (BASE_CURRENCY_ERROR, *(PRICE_LIST_ERROR.format(slug=s) for s in lists))
                    if external_id in open_ids and external_id not in still_refused]
        if resolved:
            sync_log.resolve(conn, connection_id, DATA_TYPE, resolved)
    if setup.refused:
        log.warning("site setup of %s: %s", connection_id, setup.failure_reason)
        await reporter.start(DATA_TYPE)
        await reporter.record_and_report(DATA_TYPE, setup.refused)
    await reporter.resolve(DATA_TYPE, resolved)
    return setup


def _currency_mismatch(existing: dict[str, Any], price_list: sl.PriceList) -> SyncError | None:
    """The sync-log error for a list SparkLayer already holds (`existing`) in another currency (the store's
    base currency changed): SparkLayer's API creates lists but cannot change one, so the merchant must.
    None when the currencies agree, or the listing does not say."""
    currency = existing.get("currency_code")
    if not isinstance(currency, str) or currency.upper() == price_list.currency_code:
        return None
    return SyncError(
        external_id=PRICE_LIST_ERROR.format(slug=price_list.slug), entity="price_list",
        message=f"The price list {price_list.name!r} is in {currency.upper()} in SparkLayer, but the store's "
                f"currency is now {price_list.currency_code}; prices are still written to it as they are in the store.",
        resolution=f"Change the currency of the price list {price_list.name!r} ({price_list.slug}) to "
                   f"{price_list.currency_code} in the SparkLayer Dashboard; SparkLayer's API cannot change it. "
                   "The next sync checks it again and clears this error.",
    )
