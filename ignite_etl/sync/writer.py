"""Applies a diff to SparkLayer: each change is one write, and its state advances only if accepted.

Writes go in chunks; after each chunk, in one transaction, the accepted records' state advances and
the refused ones become sync errors (sent to the sync log as they are found). A crash therefore
loses at most one chunk of bookkeeping, and re-sending that chunk is safe: a create SparkLayer
already has (409 duplicate) is retried as an update.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import psycopg

from ignite_etl.diff import Accepted, Change
from ignite_etl.sparklayer import models as sl
from ignite_etl.sparklayer.client import SparkLayerClient
from ignite_etl.store import sync_log, sync_state
from ignite_etl.store.database import connect
from ignite_etl.store.sync_log import SyncError
from ignite_etl.sync.payloads import data_type_of

log = logging.getLogger(__name__)

ReportErrors = Callable[[str, list[SyncError]], Awaitable[None]]
# Work to commit together with the last chunk's state (a partial sync marks its queue rows done).
SettleWith = Callable[[psycopg.Connection], None]

# The order writes go in: a product must exist before variants are added to it.
ACTION_ORDER = [
    ("product", "create"),
    ("product", "update"),
    ("product", "add_variants"),
    ("variant", "update"),
    ("variant", "discontinue"),
    ("stock", "set"),
    ("price", "set"),
    ("customer", "upsert"),
    ("customer", "delete"),
]


@dataclass(frozen=True)
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
        return pd.DataFrame([o.__dict__ for o in self.outcomes], columns=columns).astype({"status_code": "Int64"})


def changes_frame(changes: Sequence[Change]) -> pd.DataFrame:
    """A diff as a frame an analyst can read (and the writer can read back)."""
    columns = ["entity", "external_id", "action", "parent_external_id", "body", "accepts"]
    return pd.DataFrame(
        [
            {
                "entity": c.entity,
                "external_id": c.external_id,
                "action": c.action,
                "parent_external_id": c.parent_external_id,
                "body": c.body,
                "accepts": [a.__dict__ for a in c.accepts],
            }
            for c in changes
        ],
        columns=columns,
    )


def changes_from_frame(frame: pd.DataFrame | None) -> list[Change]:
    if frame is None or frame.empty:
        return []
    out = []
    for row in frame.to_dict("records"):
        parent = row.get("parent_external_id")
        out.append(
            Change(
                entity=row["entity"],
                external_id=row["external_id"],
                action=row["action"],
                body=row["body"] if isinstance(row["body"], dict) else None,
                accepts=tuple(Accepted(**a) for a in (row["accepts"] or [])),
                parent_external_id=parent if isinstance(parent, str) else None,
            )
        )
    return out


class ChangeWriter:
    def __init__(
        self,
        client: SparkLayerClient,
        database_url: str,
        connection_id: str,
        *,
        price_list_slug: str,
        report_errors: ReportErrors,
        chunk_size: int = 500,
    ):
        self._client = client
        self._database_url = database_url
        self._connection_id = connection_id
        self._price_list_slug = price_list_slug
        self._report_errors = report_errors
        self._chunk_size = chunk_size

    async def write(self, changes: Sequence[Change], *, settle_with: SettleWith | None = None) -> LoadReport:
        """Write every change. `settle_with` runs inside the transaction of the last chunk (or alone
        when there is nothing to write), so its work commits only once every change was attempted."""
        report = LoadReport()
        by_kind: dict[tuple[str, str], list[Change]] = {}
        for change in changes:
            by_kind.setdefault((change.entity, change.action), []).append(change)
        unknown = set(by_kind) - set(ACTION_ORDER)
        if unknown:
            raise ValueError(f"no writer for {sorted(unknown)}")
        plan = []
        for kind in ACTION_ORDER:
            todo = by_kind.get(kind, [])
            for start in range(0, len(todo), self._chunk_size):
                plan.append((kind, todo[start : start + self._chunk_size]))
        if not plan and settle_with is not None:
            with connect(self._database_url) as conn, conn.transaction():
                settle_with(conn)
        for index, (kind, chunk) in enumerate(plan):
            results = await self._send(kind, chunk)
            await self._settle(chunk, results, report, settle_with if index == len(plan) - 1 else None)
        return report

    async def _send(self, kind: tuple[str, str], chunk: list[Change]) -> list[sl.WriteResult]:
        client = self._client
        if kind == ("product", "create"):
            results = await client.create_products([sl.Product(**c.body) for c in chunk])
            return await self._update_existing(chunk, results)
        if kind in (("product", "update"), ("product", "add_variants")):
            return await client.update_products([(c.external_id, sl.ProductChanges(**c.body)) for c in chunk])
        if kind[0] == "variant":
            return await client.update_variants([(c.external_id, sl.VariantChanges(**c.body)) for c in chunk])
        if kind == ("stock", "set"):
            return await client.batch_update_stock([sl.StockLevel(**c.body) for c in chunk])
        if kind == ("price", "set"):
            return await client.update_pricing(self._price_list_slug, [sl.SkuPricing(**c.body) for c in chunk])
        if kind == ("customer", "upsert"):
            return await client.upsert_customers([sl.Customer(**c.body) for c in chunk])
        if kind == ("customer", "delete"):
            return await client.delete_customers([c.external_id for c in chunk])
        raise ValueError(f"no writer for {kind}")  # pragma: no cover - checked in write()

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
        errors: list[SyncError] = []
        for change, result in zip(chunk, results, strict=True):
            report.outcomes.append(
                WriteOutcome(change.entity, change.external_id, change.action, result.ok, result.status_code,
                             result.error_message, result.sparklayer_id)
            )
            if result.ok:
                accepted.extend((a, result.sparklayer_id if a.entity == change.entity else None) for a in change.accepts)
                if change.action == "delete":
                    forgotten.append((change.entity, change.external_id))
            else:
                errors.append(refused(change, result))
        with connect(self._database_url) as conn, conn.transaction():
            sync_state.advance(conn, self._connection_id, accepted)
            sync_state.forget(conn, self._connection_id, forgotten)
            for data_type, group in _by_data_type(errors).items():
                sync_log.record_errors(conn, self._connection_id, data_type, group)
            if settle_with is not None:
                settle_with(conn)
        report.errors.extend(errors)
        for data_type, group in _by_data_type(errors).items():
            await self._report_errors(data_type, group)


def refused(change: Change, result: sl.WriteResult) -> SyncError:
    """What the merchant reads when SparkLayer refuses a record."""
    noun = {"stock": "stock level", "price": "price"}.get(change.entity, change.entity)
    reason = result.error_message or f"HTTP {result.status_code}"
    return SyncError(
        external_id=f"{change.entity}:{change.external_id}",
        entity=change.entity,
        message=f"SparkLayer refused {noun} {change.external_id}: {reason}",
        resolution=f"Correct this {noun} in Marketplacer; it is sent again on the next sync.",
        visible_id=(change.body or {}).get("sku") if change.entity in ("variant", "stock", "price") else None,
    )


def _by_data_type(errors: list[SyncError]) -> dict[str, list[SyncError]]:
    out: dict[str, list[SyncError]] = {}
    for error in errors:
        out.setdefault(data_type_of(error.entity), []).append(error)
    return out


def _without(body: dict[str, Any] | None, key: str) -> dict[str, Any]:
    return {k: v for k, v in (body or {}).items() if k != key}
