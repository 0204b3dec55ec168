"""A full catalogue read through Shopify's bulk operations (shopify-api.md §2.5), streamed and never held whole.

Two bulk queries run one after the other (a shop runs one at a time, and a bulk query nests connections at
most two deep): products with their variants, then every variant's `sparklayer` metafields and stock per
location. Each result is a JSONL file whose nested objects are their own lines, naming their parent in
`__parentId`, after it but not always right after it. The lines are streamed from the result URL into a
temporary SQLite file beside the run, and the products are read back from it a page at a time with
everything that belongs to them, so memory stays flat however large the catalogue.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from ignite_etl.platforms.base import PlatformError, PlatformUnavailable
from ignite_etl.platforms.shopify import queries
from ignite_etl.platforms.shopify.client import ShopifyClient, ShopifyUserError

log = logging.getLogger(__name__)

FIRST_POLL_SECONDS = 0.5
MAX_POLL_SECONDS = 10.0
MAX_WAIT_SECONDS = 6 * 3600.0
"""A bulk operation that has not finished after this long fails the read (Shopify allows one 10 days)."""
RUNNING = ("CREATED", "RUNNING", "CANCELING")
INSERT_BATCH = 1000

_SCHEMA = """
create table products (seq integer primary key, id text unique, body text);
create table variants (seq integer primary key, id text, product_id text, body text);
create table metafields (variant_id text, body text);
create table levels (variant_id text, body text);
create index variants_product on variants (product_id);
create index metafields_variant on metafields (variant_id);
create index levels_variant on levels (variant_id);
"""


class BulkRead:
    """One full read: `run()` stages both results, `products(page_size)` yields the product nodes, each in
    the shape a paged read gives (every nested connection complete), then the staging file is gone."""

    def __init__(self, client: ShopifyClient, *, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, staging_dir: str | None = None):
        self.client = client
        self._sleep = sleep
        self._clock = clock
        self._dir = tempfile.TemporaryDirectory(prefix="ignite-shopify-bulk-", dir=staging_dir)
        self._db = sqlite3.connect(Path(self._dir.name) / "catalogue.sqlite", isolation_level=None)
        self._db.executescript(_SCHEMA)
        self.lines = 0

    def close(self) -> None:
        self._db.close()
        self._dir.cleanup()

    def __enter__(self) -> BulkRead:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- running the operations ----

    def run(self) -> None:
        self._stage(self._result_url(queries.BULK_PRODUCTS), self._product_line)
        self._stage(self._result_url(queries.BULK_VARIANT_DETAILS), self._detail_line)

    def _result_url(self, query: str) -> str | None:
        """Start `query` as the shop's bulk query (after any running one) and wait for its result file."""
        self._wait_for_current()
        try:
            started = self.client.mutate(queries.BULK_OPERATION_RUN_QUERY, {"query": query}, "bulkOperationRunQuery")
        except ShopifyUserError as exc:
            if any(e.get("code") == "OPERATION_IN_PROGRESS" for e in exc.errors):
                self._wait_for_current()
                started = self.client.mutate(queries.BULK_OPERATION_RUN_QUERY, {"query": query},
                                             "bulkOperationRunQuery")
            else:
                raise
        operation_id = started["bulkOperation"]["id"]
        current = self._wait_for_current()
        if current is None or current["id"] != operation_id:
            raise PlatformUnavailable("Shopify's bulk operation was replaced by another before it finished; "
                                      "the read is tried again")
        if current["status"] != "COMPLETED":
            raise PlatformUnavailable(f"Shopify's bulk operation ended {current['status'].lower()}"
                                      + (f" ({current['errorCode']})" if current.get("errorCode") else "")
                                      + "; the read is tried again")
        return current.get("url")  # None: nothing matched

    def _wait_for_current(self) -> dict | None:
        """The shop's current bulk query once it is no longer running."""
        deadline = self._clock() + MAX_WAIT_SECONDS
        wait = FIRST_POLL_SECONDS
        while True:
            current = self.client.execute(queries.CURRENT_BULK_OPERATION)["currentBulkOperation"]
            if current is None or current["status"] not in RUNNING:
                return current
            if self._clock() + wait > deadline:
                raise PlatformUnavailable("Shopify's bulk operation did not finish in time; the read is tried again")
            self._sleep(wait * self.client.time_scale)
            wait = min(wait * 1.5, MAX_POLL_SECONDS)

    # ---- staging the lines ----

    def _stage(self, url: str | None, store: Callable[[dict], tuple[str, tuple] | None]) -> None:
        if not url:
            return
        rows: dict[str, list[tuple]] = {}
        with self.client.download(url) as lines:
            for raw in lines:
                if not raw.strip():
                    continue
                try:
                    line = json.loads(raw)
                except ValueError:
                    raise PlatformError("Shopify's bulk operation result has a line that is not JSON") from None
                self.lines += 1
                found = store(line)
                if found is not None:
                    table, row = found
                    rows.setdefault(table, []).append(row)
                    if len(rows[table]) >= INSERT_BATCH:
                        self._flush(table, rows.pop(table))
        for table, batch in rows.items():
            self._flush(table, batch)

    def _flush(self, table: str, rows: list[tuple]) -> None:
        marks = ", ".join("?" * len(rows[0]))
        self._db.executemany(f"insert or replace into {table} ({_COLUMNS[table]}) values ({marks})", rows)

    @staticmethod
    def _product_line(line: dict) -> tuple[str, tuple] | None:
        parent = line.pop("__parentId", None)
        if parent is None:
            return "products", (line["id"], json.dumps(line))
        if "/ProductVariant/" in line.get("id", ""):
            return "variants", (line["id"], parent, json.dumps(line))
        return None

    @staticmethod
    def _detail_line(line: dict) -> tuple[str, tuple] | None:
        parent = line.pop("__parentId", None)
        if parent is None:
            return None  # the variant itself: its fields came with its product
        if "key" in line:
            return "metafields", (parent, json.dumps(line))
        if "location" in line:
            return "levels", (parent, json.dumps(line))
        return None

    # ---- reading the products back ----

    def products(self, page_size: int) -> Iterator[list[dict]]:
        """Product nodes in the order Shopify wrote them, `page_size` at a time, each with its variants (by
        position), and each variant with its metafields and stock levels, as complete connections."""
        after = 0
        while True:
            rows = self._db.execute("select seq, id, body from products where seq > ? order by seq limit ?",
                                    (after, page_size)).fetchall()
            if not rows:
                return
            after = rows[-1][0]
            yield [self._assemble(product_id, body) for _, product_id, body in rows]

    def _assemble(self, product_id: str, body: str) -> dict:
        product = json.loads(body)
        variants = []
        for variant_id, variant_body in self._db.execute(
                "select id, body from variants where product_id = ? order by seq", (product_id,)):
            variant = json.loads(variant_body)
            variant["metafields"] = _complete(self._children("metafields", variant_id))
            item = variant.get("inventoryItem") or {}
            # a level names the variant as its parent, or (Shopify's docs leave it open) its inventory item
            item["inventoryLevels"] = _complete(self._children("levels", variant_id, item.get("id")))
            variant["inventoryItem"] = item
            variants.append(variant)
        variants.sort(key=lambda v: v.get("position") or 0)
        product["variants"] = _complete(variants)
        return product

    def _children(self, table: str, *parents: str | None) -> list[dict]:
        found: list[dict] = []
        for parent in dict.fromkeys(p for p in parents if p):
            found += [json.loads(body) for (body,) in
                      self._db.execute(f"select body from {table} where variant_id = ?", (parent,))]
        return found


_COLUMNS = {"products": "id, body", "variants": "id, product_id, body", "metafields": "variant_id, body",
            "levels": "variant_id, body"}


def _complete(nodes: list[dict]) -> dict:
    return {"nodes": nodes, "pageInfo": {"hasNextPage": False}}
