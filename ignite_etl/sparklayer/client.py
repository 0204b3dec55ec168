"""The SparkLayer client the sync calls: one method per operation, bulk methods that return one
outcome per record, and permanent refusals as data rather than exceptions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import httpx
from pydantic import SecretStr

from ignite_etl.sparklayer import endpoints as ep
from ignite_etl.sparklayer.auth import utc_now
from ignite_etl.sparklayer.batching import chunks, faulty_positions, rounds
from ignite_etl.sparklayer.endpoints import MAX_BATCH_SIZE, Endpoint
from ignite_etl.sparklayer.errors import InvalidRequest, RecordRejected
from ignite_etl.sparklayer.models import (
    Customer,
    FullSyncLog,
    PartialSyncLog,
    PriceList,
    Product,
    ProductChanges,
    Purchase,
    Setting,
    SkuPricing,
    StockLevel,
    StockLocation,
    SyncLogStatus,
    VariantChanges,
    WriteResult,
    check_sync_log_errors,
    merge_customer,
)
from ignite_etl.sparklayer.retry import RetryPolicy
from ignite_etl.sparklayer.token_store import InMemoryTokenStore, TokenStore
from ignite_etl.sparklayer.transport import DEFAULT_TIMEOUT, SparkLayerTransport

T = TypeVar("T")
R = TypeVar("R")


class SparkLayerClient:
    """One SparkLayer site. Use as `async with SparkLayerClient(...) as client:`, or from synchronous
    code `client.run(lambda c: c.upsert_customers(customers))`.

    Bulk methods return one WriteResult per input, in input order. TransientError and
    AuthenticationFailed still raise: they concern the whole run, not one record.
    """

    def __init__(
        self,
        *,
        base_url: str,
        site_id: str,
        client_id: str,
        client_secret: str | SecretStr,
        token_store: TokenStore | None = None,
        concurrency: int = 8,
        requests_per_second: float | None = None,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], datetime] = utc_now,
        batch_size: int = MAX_BATCH_SIZE,
    ):
        if not 1 <= batch_size <= MAX_BATCH_SIZE:
            raise ValueError(f"batch_size must be between 1 and {MAX_BATCH_SIZE}")
        self.batch_size = batch_size
        self.site_id = site_id
        self._transport = SparkLayerTransport(
            base_url=base_url,
            site_id=site_id,
            client_id=client_id,
            client_secret=client_secret if isinstance(client_secret, SecretStr) else SecretStr(client_secret),
            token_store=token_store if token_store is not None else InMemoryTokenStore(),
            concurrency=concurrency,
            requests_per_second=requests_per_second,
            retry=retry,
            timeout=timeout,
            transport=transport,
            clock=clock,
        )

    @classmethod
    def for_site(cls, site_env: str, site_id: str, *, api_url: str | None = None, **kwargs: Any) -> SparkLayerClient:
        """A client for `site_env` (`live`/`test`); `api_url` (SPARKLAYER_API_URL) overrides the host."""
        return cls(base_url=ep.base_url_for(site_env, api_url), site_id=site_id, **kwargs)

    @property
    def stats(self):
        """Requests sent, retried and rate-limited so far (`RequestStats`)."""
        return self._transport.stats

    def __repr__(self) -> str:
        return f"SparkLayerClient(base_url={self._transport.base_url!r}, site_id={self.site_id!r})"

    async def __aenter__(self) -> SparkLayerClient:
        await self._transport.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._transport.__aexit__(*exc)

    def run(self, operation: Callable[[SparkLayerClient], Awaitable[R]]) -> R:
        """Run `operation(client)` to completion from synchronous code (e.g. a Dagster asset)."""

        async def main() -> R:
            async with self:
                return await operation(self)

        return asyncio.run(main())

    # --- products -------------------------------------------------------------------------

    async def create_product(self, product: Product) -> WriteResult:
        return await self._write(product.external_id, ep.CREATE_PRODUCT, {}, product.to_body())

    async def create_products(self, products: Sequence[Product]) -> list[WriteResult]:
        return await self._for_each(products, self.create_product)

    async def update_product(self, external_id: str, changes: ProductChanges) -> WriteResult:
        return await self._write(external_id, ep.UPDATE_PRODUCT, {"id": external_id}, changes.to_body())

    async def update_products(self, changes: Sequence[tuple[str, ProductChanges]]) -> list[WriteResult]:
        return await self._for_each(changes, lambda pair: self.update_product(*pair))

    async def update_variant(self, external_id: str, changes: VariantChanges) -> WriteResult:
        return await self._write(external_id, ep.UPDATE_VARIANT, {"id": external_id}, changes.to_body())

    async def update_variants(self, changes: Sequence[tuple[str, VariantChanges]]) -> list[WriteResult]:
        return await self._for_each(changes, lambda pair: self.update_variant(*pair))

    async def discontinue_variants(self, external_ids: Sequence[str]) -> list[WriteResult]:
        """Mark variants deleted on the platform as `discontinued`."""
        return await self.update_variants([(i, VariantChanges(status="discontinued")) for i in external_ids])

    # --- stock and pricing ----------------------------------------------------------------

    async def batch_update_stock(self, levels: Sequence[StockLevel]) -> list[WriteResult]:
        """Write stock in batches of at most `batch_size`, each (sku, location) once per batch;
        results are keyed `sku@location`."""
        return await self._write_batches(ep.BATCH_UPDATE_STOCK, {}, levels)

    async def create_stock_location(self, location: StockLocation) -> WriteResult:
        """Create the location; one with this external id that already exists (409) counts as success."""
        result = await self._write(location.external_id, ep.CREATE_STOCK_LOCATION, {}, location.to_body())
        if not result.ok and result.status_code == 409:
            return WriteResult(location.external_id, True, None, 409, None)
        return result

    async def create_price_list(self, price_list: PriceList) -> tuple[WriteResult, dict[str, Any] | None]:
        """Create the list. A list with this slug that already exists counts as success, and comes back second
        as `GET /api/v2/price-lists` shows it (SparkLayer cannot change a list, so it may differ from
        `price_list`); a list created now comes back with None."""
        result = await self._write(price_list.slug, ep.CREATE_PRICE_LIST, {}, price_list.to_body())
        existing = await self.find_price_list(price_list.slug) if not result.ok and result.status_code == 400 else None
        if result.ok or existing is not None:
            return WriteResult(price_list.slug, True, price_list.slug, result.status_code, None), existing
        return result, None

    async def price_lists(self, page_size: int = 250) -> AsyncIterator[list[dict[str, Any]]]:
        """Every price list, one page at a time."""
        page = 1
        while True:
            response = await self._transport.call(ep.LIST_PRICE_LISTS, query={"page": page, "page_size": page_size})
            payload = response.json()
            yield list(payload.get("data") or [])
            pagination = payload.get("pagination") or {}
            if pagination.get("current_page", page) >= pagination.get("total_pages", page):
                return
            page += 1

    async def update_pricing(self, price_list_slug: str, items: Sequence[SkuPricing]) -> list[WriteResult]:
        """Replace the prices of the SKUs sent on one list, in batches; results are keyed by SKU."""
        return await self._write_batches(ep.UPDATE_PRICING, {"slug": price_list_slug}, items)

    # --- customers ------------------------------------------------------------------------

    async def get_customer(self, lookup_by: str, identifier: str) -> dict[str, Any] | None:
        """The stored customer, or None when SparkLayer has none (404)."""
        try:
            response = await self._transport.call(
                ep.GET_CUSTOMER, path_params={"lookup_by": lookup_by, "identifier": identifier}, external_id=identifier
            )
        except RecordRejected as exc:
            if exc.status_code == 404:
                return None
            raise
        payload = response.json() if response.content else None
        if isinstance(payload, dict) and isinstance(payload.get("data"), dict):
            payload = payload["data"]
        return payload if isinstance(payload, dict) else None

    async def upsert_customer(self, customer: Customer) -> WriteResult:
        """Create or update a customer, changing only what `customer` states (its None fields stay as the
        merchant set them in SparkLayer; `merge_customer`). The v2 PUT replaces the whole customer, so the
        stored one is read first: by our external id, else by email, so a customer the merchant created
        in SparkLayer with the same email is updated rather than refused as a duplicate (409)."""
        try:
            for attempt in range(2):  # a 409 means someone created it between our read and our write
                ours = customer.to_body()
                lookup_by, identifier = "platform", customer.external_id
                stored = await self.get_customer(lookup_by, identifier)
                if stored is None:
                    stored = await self.get_customer("email", customer.email)
                    if stored is not None and stored.get("id"):
                        lookup_by, identifier = "sparklayer", stored["id"]
                        ours = {**ours, "id": stored["id"], "external_id": stored.get("external_id") or customer.external_id}
                result = await self._write(customer.external_id, ep.UPSERT_CUSTOMER,
                                           {"lookup_by": lookup_by, "identifier": identifier}, merge_customer(ours, stored))
                if result.ok or result.status_code != 409 or attempt:
                    return result
        except RecordRejected as exc:
            return WriteResult(customer.external_id, False, None, exc.status_code, exc.message)
        return result

    async def upsert_customers(self, customers: Sequence[Customer]) -> list[WriteResult]:
        return await self._for_each(customers, self.upsert_customer)

    async def delete_customer(self, external_id: str) -> WriteResult:
        """Delete a customer; one that is already gone (404) counts as deleted."""
        result = await self._write(external_id, ep.DELETE_CUSTOMER, {"external_id": external_id}, None)
        if result.status_code == 404:
            return WriteResult(external_id, True, None, 404, None)
        return result

    async def delete_customers(self, external_ids: Sequence[str]) -> list[WriteResult]:
        return await self._for_each(external_ids, self.delete_customer)

    # --- settings and purchases -------------------------------------------------------------

    async def patch_settings(self, settings: Sequence[Setting]) -> None:
        """Raises RecordRejected when SparkLayer refuses a key (or refuses these API keys)."""
        await self._transport.call(ep.PATCH_SETTINGS, body=[s.to_body() for s in settings], external_id="settings")

    async def set_base_currency(self, currency_code: str) -> None:
        await self.patch_settings([Setting(key="baseCurrency", value=currency_code)])

    async def put_purchase(self, purchase: Purchase, lookup_by: str | None = None) -> WriteResult:
        """Create or replace the whole purchase. By default it is found by its SparkLayer cart id,
        so an order placed through SparkLayer replaces its cart, else by its platform id."""
        lookup_by = lookup_by or ("sparklayer" if purchase.purchase_identifiers.sparklayer else "platform")
        identifier = purchase.identifier(lookup_by)
        label = purchase.purchase_identifiers.platform or identifier or "purchase"
        if not identifier:
            return WriteResult(label, False, None, None, f"the purchase has no {lookup_by} identifier to look it up by")
        return await self._write(
            label, ep.PUT_PURCHASE, {"lookup_by": lookup_by, "identifier": identifier}, purchase.to_body()
        )

    async def put_purchases(self, purchases: Sequence[Purchase]) -> list[WriteResult]:
        return await self._for_each(purchases, self.put_purchase)

    # --- sync log -------------------------------------------------------------------------

    async def put_sync_log(self, integration: str, data_type: str, log: FullSyncLog) -> None:
        """Record a full sync: replaces every earlier error; a timestamp left out is cleared."""
        _check_log(log.errors)
        await self._transport.call(
            ep.PUT_SYNC_LOG, path_params={"integration": integration, "data_type": data_type}, body=log.to_body()
        )

    async def patch_sync_log(self, integration: str, data_type: str, log: PartialSyncLog) -> None:
        """Record a partial sync: adds `errors`, removes `resolved_external_ids`, keeps the rest."""
        _check_log(log.errors)
        await self._transport.call(
            ep.PATCH_SYNC_LOG, path_params={"integration": integration, "data_type": data_type}, body=log.to_body()
        )

    async def get_sync_log(
        self, integration: str, data_type: str, *, with_errors: bool = False
    ) -> SyncLogStatus | None:
        """The recorded status (and errors), or None before the first full sync."""
        endpoint = ep.GET_SYNC_LOG_ERRORS if with_errors else ep.GET_SYNC_LOG
        try:
            response = await self._transport.call(
                endpoint, path_params={"integration": integration, "data_type": data_type}
            )
        except RecordRejected as exc:
            if exc.status_code == 404:
                return None
            raise
        return SyncLogStatus.model_validate(response.json())

    async def delete_sync_logs(self) -> None:
        """Delete every sync log of the site in this environment (on removal of the connection)."""
        await self._transport.call(ep.DELETE_SYNC_LOGS)

    # --- machinery --------------------------------------------------------------------------

    async def _write(self, external_id: str, endpoint: Endpoint, path_params: dict[str, str], body: Any) -> WriteResult:
        try:
            response = await self._transport.call(endpoint, path_params=path_params, body=body, external_id=external_id)
        except RecordRejected as exc:
            return WriteResult(external_id, False, None, exc.status_code, exc.message)
        return WriteResult(external_id, True, _sparklayer_id(response), response.status_code, None)

    async def _for_each(self, items: Sequence[T], write: Callable[[T], Awaitable[R]]) -> list[R]:
        """`write` every item with at most `concurrency` in flight; results in input order."""
        results: list[Any] = [None] * len(items)
        positions = iter(range(len(items)))

        async def worker() -> None:
            for position in positions:
                results[position] = await write(items[position])

        await asyncio.gather(*(worker() for _ in range(min(self._transport.concurrency, len(items)))))
        return results

    async def _write_batches(
        self, endpoint: Endpoint, path_params: dict[str, str], items: Sequence[StockLevel | SkuPricing]
    ) -> list[WriteResult]:
        results: list[Any] = [None] * len(items)
        for group in rounds(items, key=lambda item: item.key):
            await self._for_each(
                chunks(group, self.batch_size),
                lambda batch: self._write_batch(endpoint, path_params, items, list(batch), results),
            )
        return results

    async def _write_batch(
        self,
        endpoint: Endpoint,
        path_params: dict[str, str],
        items: Sequence[StockLevel | SkuPricing],
        positions: list[int],
        results: list[Any],
    ) -> None:
        """Send one batch. When SparkLayer refuses it with a 400, fail the items it names and send
        the rest again; when it names none, halve the batch until the culprits stand alone."""
        try:
            response = await self._transport.call(
                endpoint, path_params=path_params, body=[items[p].to_body() for p in positions]
            )
        except RecordRejected as exc:
            if exc.status_code != 400 or len(positions) == 1:
                for p in positions:
                    results[p] = WriteResult(items[p].key, False, None, exc.status_code, exc.message)
                return
            named = faulty_positions(exc.problems, len(positions))
            if named:
                for index, messages in named.items():
                    p = positions[index]
                    results[p] = WriteResult(items[p].key, False, None, exc.status_code, "; ".join(messages))
                rest = [p for index, p in enumerate(positions) if index not in named]
                if rest:
                    await self._write_batch(endpoint, path_params, items, rest, results)
                return
            middle = len(positions) // 2
            await self._write_batch(endpoint, path_params, items, positions[:middle], results)
            await self._write_batch(endpoint, path_params, items, positions[middle:], results)
            return
        for p in positions:
            results[p] = WriteResult(items[p].key, True, None, response.status_code, None)

    async def find_price_list(self, slug: str) -> dict[str, Any] | None:
        """The list with this slug as `GET /api/v2/price-lists` shows it, or None."""
        async for page in self.price_lists():
            for item in page:
                if item.get("slug") == slug:
                    return item
        return None


def _check_log(errors: list) -> None:
    try:
        check_sync_log_errors(errors)
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from None


def _sparklayer_id(response: httpx.Response) -> str | None:
    if not response.content:
        return None
    try:
        payload = response.json()
    except ValueError:
        return None
    return payload.get("id") if isinstance(payload, dict) else None
