"""Applies a diff to SparkLayer: each change is one write, and its state advances only if accepted.

Writes go in chunks; after each chunk, in one transaction, the accepted records' state advances and
the refused ones become sync errors (sent to the sync log as they are found). A crash therefore
loses at most one chunk of bookkeeping, and re-sending that chunk is safe: a create SparkLayer
already has (409 duplicate) is retried as an update. Before a chunk that may create records is sent,
their intent is committed (`sync_state.record_intent`), so no record can exist in SparkLayer that our
state does not know of, even one deleted on the platform before the next sync.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from itertools import groupby
from typing import Any

import pandas as pd

from ignite_etl.diff import Accepted, Change
from ignite_etl.sparklayer import models as sl
from ignite_etl.sparklayer.client import SparkLayerClient
from ignite_etl.store import sync_log, sync_state
from ignite_etl.store.database import Conn, Database
from ignite_etl.store.sync_log import SyncError
from ignite_etl.sync.entities import WRITES, data_type_of
from ignite_etl.sync.payloads import PRICE_LIST_KEY

log = logging.getLogger(__name__)

ReportErrors = Callable[[str, list[SyncError]], Awaitable[None]]
# Work to commit together with the last chunk's state (a partial sync marks its queue rows done).
SettleWith = Callable[[Conn], None]

# Writes that may create a record in SparkLayer: their intent is committed before they are sent.
CREATES = (("product", "create"), ("product", "add_variants"), ("customer", "upsert"))

# The order writes go in: a product must exist before variants are added to it.
ACTION_ORDER = [(w.entity, w.action) for w in WRITES]


_ORDER = {kind: position for position, kind in enumerate(ACTION_ORDER)}


def sorted_changes(changes: Iterable[Change]) -> list[Change]:
    """In the order the writer sends them (stable within a kind); unknown kinds last."""
    return sorted(changes, key=lambda c: _ORDER.get((c.entity, c.action), len(ACTION_ORDER)))


@dataclass(frozen=True, slots=True)
class WriteOutcome:
    entity: str
    external_id: str
    action: str
    ok: bool
    status_code: int | None = None
    error: str | None = None
    sparklayer_id: str | None = None


@dataclass
class LoadReport:
    outcomes: list[WriteOutcome] = field(default_factory=list)
    errors: list[SyncError] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(1 for o in self.outcomes if not o.ok)

    @property
    def succeeded(self) -> int:
        return sum(1 for o in self.outcomes if o.ok)

    def frame(self) -> pd.DataFrame:
        columns = ["entity", "external_id", "action", "ok", "status_code", "error", "sparklayer_id"]
        data = {name: [getattr(o, name) for o in self.outcomes] for name in columns}
        return pd.DataFrame(data, columns=columns).astype({"status_code": "Int64"})


CHANGE_COLUMNS = ["entity", "external_id", "action", "parent_external_id", "body", "accepts"]


def changes_frame(changes: Sequence[Change]) -> pd.DataFrame:
    """A diff as a frame an analyst can read (and the writer can read back). Built a column at a time:
    a dict per row would be one more copy of a 100,000-product first sync."""
    data = {
        "entity": [c.entity for c in changes],
        "external_id": [c.external_id for c in changes],
        "action": [c.action for c in changes],
        "parent_external_id": [c.parent_external_id for c in changes],
        "body": [c.body for c in changes],
        "accepts": [[a.as_dict() for a in c.accepts] for c in changes],
    }
    return pd.DataFrame(data, columns=CHANGE_COLUMNS)


def changes_from_frame(frame: pd.DataFrame | None) -> list[Change]:
    if frame is None or frame.empty:
        return []
    parents = frame["parent_external_id"] if "parent_external_id" in frame.columns else [None] * len(frame)
    return [
        Change(
            entity=entity,
            external_id=external_id,
            action=action,
            body=body if isinstance(body, dict) else None,
            accepts=tuple(Accepted(**a) for a in (accepts if isinstance(accepts, list) else ())),
            parent_external_id=parent if isinstance(parent, str) else None,
        )
        for entity, external_id, action, body, accepts, parent in zip(
            frame["entity"], frame["external_id"], frame["action"], frame["body"], frame["accepts"], parents
        )
    ]


class ChangeWriter:
    def __init__(
        self,
        client: SparkLayerClient,
        db: Database,
        connection_id: str,
        *,
        price_list_slug: str,
        report_errors: ReportErrors,
        store_name: str = "the store",
        chunk_size: int = 500,
    ):
        self._client = client
        self._db = db
        self._connection_id = connection_id
        self._price_list_slug = price_list_slug
        self._report_errors = report_errors
        self._store_name = store_name
        self._chunk_size = chunk_size

    async def write(self, changes: Sequence[Change], *, settle_with: SettleWith | None = None) -> LoadReport:
        """Write every change, in ACTION_ORDER. `settle_with` runs inside the transaction of the last
        chunk (or alone when there is nothing to write), so its work commits only once every change
        was attempted."""
        unknown = {(c.entity, c.action) for c in changes} - set(_ORDER)
        if unknown:
            raise ValueError(f"no writer for {sorted(unknown)}")
        return await self.write_stream([sorted_changes(changes)], settle_with=settle_with)

    async def write_stream(
        self, changes: Iterable[Sequence[Change]], *, settle_with: SettleWith | None = None
    ) -> LoadReport:
        """`write` for a diff too big to hold: its changes arrive a few thousand at a time, already in
        ACTION_ORDER (as `sorted_changes` puts them and the diff tables store them), and each chunk is
        sent and settled as it comes."""
        report = LoadReport()
        chunks = self._chunks(changes)
        current = next(chunks, None)
        if current is None and settle_with is not None:
            with self._db.connect() as conn, conn.transaction():
                settle_with(conn)
        while current is not None:
            following = next(chunks, None)  # one ahead, to know which chunk is the last
            kind, chunk = current
            await self._settle(chunk, await self._send(kind, chunk), report, None if following else settle_with)
            current = following
        return report

    def _chunks(self, changes: Iterable[Sequence[Change]]) -> Iterator[tuple[tuple[str, str], list[Change]]]:
        """(kind, up to chunk_size changes of it), refusing a kind that comes after a later one."""
        position = 0
        for batch in changes:
            for kind, run in groupby(batch, key=lambda c: (c.entity, c.action)):
                if kind not in _ORDER:
                    raise ValueError(f"no writer for {kind}")
                if _ORDER[kind] < position:
                    raise ValueError(f"{kind} comes after {ACTION_ORDER[position]}: the diff is not in write order "
                                     "(it predates this version); materialize the diff again")
                position = _ORDER[kind]
                todo = list(run)
                for start in range(0, len(todo), self._chunk_size):
                    yield kind, todo[start : start + self._chunk_size]

    async def _send(self, kind: tuple[str, str], chunk: list[Change]) -> list[sl.WriteResult]:
        client = self._client
        bodies = [c.body or {} for c in chunk]
        if kind in CREATES:
            with self._db.connect() as conn, conn.transaction():
                sync_state.record_intent(conn, self._connection_id, (a for c in chunk for a in c.accepts))
        if kind == ("product", "create"):
            results = await client.create_products([sl.Product(**b) for b in bodies])
            return await self._update_existing(chunk, results)
        if kind in (("product", "update"), ("product", "add_variants")):
            return await client.update_products([(c.external_id, sl.ProductChanges(**b)) for c, b in zip(chunk, bodies)])
        if kind[0] == "variant":
            return await client.update_variants([(c.external_id, sl.VariantChanges(**b)) for c, b in zip(chunk, bodies)])
        if kind == ("stock", "set"):
            return await client.batch_update_stock([sl.StockLevel(**b) for b in bodies])
        if kind == ("price", "set"):
            return await self._update_pricing(bodies)
        if kind == ("customer", "upsert"):  # parents before the customers under them, which SparkLayer checks
            customers = [sl.Customer(**b) for b in bodies]
            order = sorted(range(len(customers)), key=lambda i: customers[i].parent_customer_id is not None)
            results = [r for wave in (False, True) for r in await client.upsert_customers(
                [customers[i] for i in order if (customers[i].parent_customer_id is not None) == wave])]
            by_position = dict(zip(order, results))
            return [by_position[i] for i in range(len(customers))]
        if kind == ("customer", "delete"):
            return await client.delete_customers([c.external_id for c in chunk])
        raise ValueError(f"no writer for {kind}")  # pragma: no cover - checked in write()

    async def _update_pricing(self, bodies: list[dict]) -> list[sl.WriteResult]:
        """Prices, one request per price list they are on (the platform's own, or a B2B catalog's)."""
        by_list: dict[str, list[int]] = {}
        for position, body in enumerate(bodies):
            by_list.setdefault(body.get(PRICE_LIST_KEY) or self._price_list_slug, []).append(position)
        results: list[sl.WriteResult | None] = [None] * len(bodies)
        for slug, positions in by_list.items():
            items = [sl.SkuPricing(**_without(bodies[p], PRICE_LIST_KEY)) for p in positions]
            for position, result in zip(positions, await self._client.update_pricing(slug, items), strict=True):
                results[position] = result
        return [r for r in results if r is not None]

    async def _update_existing(self, chunk: list[Change], results: list[sl.WriteResult]) -> list[sl.WriteResult]:
        """A create SparkLayer answers 409 for already has the product (we lost its state in a
        crash): send it as an update of the product and all its variants instead."""
        again = [i for i, r in enumerate(results) if not r.ok and r.status_code == 409]
        if not again:
            return results
        log.info("%d product(s) already exist in SparkLayer; updating them instead", len(again))
        updates = await self._client.update_products(
            [(chunk[i].external_id, sl.ProductChanges(**_without(chunk[i].body, "external_id"))) for i in again]
        )
        results = list(results)
        for i, result in zip(again, updates):
            results[i] = result
        return results

    async def _settle(
        self, chunk: list[Change], results: list[sl.WriteResult], report: LoadReport, settle_with: SettleWith | None = None
    ) -> None:
        accepted: list[tuple[Accepted, str | None]] = []
        forgotten = []
        not_created: list[tuple[str, str]] = []
        errors: list[SyncError] = []
        for change, result in zip(chunk, results, strict=True):
            if not result.ok and result.status_code == 404 and change.action == "discontinue":
                result = replace(result, ok=True)  # SparkLayer has no such variant: it is not live, as asked
                forgotten.append((change.entity, change.external_id))
            report.outcomes.append(
                WriteOutcome(change.entity, change.external_id, change.action, result.ok, result.status_code,
                             result.error_message, result.sparklayer_id)
            )
            if result.ok:
                accepted.extend((a, result.sparklayer_id if a.entity == change.entity else None) for a in change.accepts)
                if change.action == "delete":
                    forgotten.append((change.entity, change.external_id))
            else:
                errors.append(refused(change, result, self._store_name))
                if (change.entity, change.action) in CREATES:
                    not_created.extend((a.entity, a.external_id) for a in change.accepts)
        with self._db.connect() as conn, conn.transaction():
            sync_state.advance(conn, self._connection_id, accepted)
            sync_state.forget(conn, self._connection_id, forgotten)
            sync_state.drop_intents(conn, self._connection_id, not_created)
            for data_type, group in _by_data_type(errors).items():
                sync_log.record_errors(conn, self._connection_id, data_type, group)
            if settle_with is not None:
                settle_with(conn)
        report.errors.extend(errors)
        for data_type, group in _by_data_type(errors).items():
            await self._report_errors(data_type, group)


def refused(change: Change, result: sl.WriteResult, store_name: str) -> SyncError:
    """What the merchant reads when SparkLayer refuses a record; `store_name` is where they fix it (the
    platform's display name)."""
    noun = {"stock": "stock level", "price": "price"}.get(change.entity, change.entity)
    reason = result.error_message or f"HTTP {result.status_code}"
    resolution = f"Correct this {noun} in {store_name}; it is sent again on the next sync."
    group = (change.body or {}).get("group") if change.entity == "customer" else None
    if group:  # SparkLayer refuses a customer whose group it does not have; only the merchant can create one
        resolution = (f"If SparkLayer has no customer group {group!r}, create it in the SparkLayer Dashboard; "
                      f"otherwise correct this customer in {store_name}. It is sent again on the next sync.")
    return SyncError(
        external_id=f"{change.entity}:{change.external_id}",
        entity=change.entity,
        message=f"SparkLayer refused {noun} {change.external_id}: {reason}",
        resolution=resolution,
        visible_id=(change.body or {}).get("sku") if change.entity in ("variant", "stock", "price") else None,
    )


def _by_data_type(errors: list[SyncError]) -> dict[str, list[SyncError]]:
    out: dict[str, list[SyncError]] = {}
    for error in errors:
        out.setdefault(data_type_of(error.entity), []).append(error)
    return out


def _without(body: dict[str, Any] | None, key: str) -> dict[str, Any]:
    return {k: v for k, v in (body or {}).items() if k != key}
