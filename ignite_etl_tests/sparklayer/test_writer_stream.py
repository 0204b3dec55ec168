"""The writer fed a stored diff a chunk at a time, against the SparkLayer simulator and a real Postgres:
everything is written and its state advanced, and a diff out of write order is refused, not reordered."""

from __future__ import annotations

from ignite_etl.store.database import Database

import asyncio

import pytest

from ignite_etl.diff import Accepted, Change
from ignite_etl.store.database import connect
from ignite_etl.sync.writer import ChangeWriter, sorted_changes

from .conftest import SITE

CONNECTION_ID = "test-stream"


def create(pid: str) -> Change:
    body = {"external_id": pid, "title": f"Product {pid}", "slug": pid.lower(),
            "variants": [{"external_id": f"{pid}-v", "sku": f"SKU-{pid}", "status": "live"}]}
    return Change("product", pid, "create", body,
                  (Accepted("product", pid, f"h-{pid}", status="live"), Accepted("variant", f"{pid}-v", f"hv-{pid}", pid, "live")))


def stock(pid: str, level: int) -> Change:
    body = {"sku": f"SKU-{pid}", "stock_location_external_id": "default", "stock_level": level}
    return Change("stock", f"SKU-{pid}:default", "set", body, (Accepted("stock", f"SKU-{pid}:default", f"hs-{level}"),))


async def no_errors(data_type, errors):
    assert not errors, errors


def write_stream(make_client, database_url, batches):
    async def run():
        async with make_client() as client:
            writer = ChangeWriter(client, Database(database_url), CONNECTION_ID, price_list_slug="marketplacer-price",
                                  report_errors=no_errors, chunk_size=2)
            return await writer.write_stream(batches)

    return asyncio.run(run())


def state_keys(database_url) -> set[tuple[str, str]]:
    with connect(database_url) as conn:
        rows = conn.execute("select entity, external_id from sync_state where connection_id = %s", (CONNECTION_ID,))
        return {(r["entity"], r["external_id"]) for r in rows}


def test_a_diff_streamed_in_batches_is_written_whole_in_order(make_client, sandbox, database_url, locations):
    diff = sorted_changes([stock("P1", 4), create("P1"), create("P2"), stock("P2", 0), create("P3")])
    assert [(c.entity, c.external_id) for c in diff][:3] == [("product", "P1"), ("product", "P2"), ("product", "P3")]

    report = write_stream(make_client, database_url, [diff[:2], diff[2:4], diff[4:]])  # kinds span the batches

    assert report.failed == 0 and len(report.outcomes) == 5
    state = sandbox.state("test", SITE)
    assert sorted(state["products"]) == ["P1", "P2", "P3"]
    assert {s["sku"]: s["stock_level"] for s in state["stock"]} == {"SKU-P1": 4, "SKU-P2": 0}
    assert state_keys(database_url) == {
        ("product", "P1"), ("product", "P2"), ("product", "P3"), ("variant", "P1-v"), ("variant", "P2-v"),
        ("variant", "P3-v"), ("stock", "SKU-P1:default"), ("stock", "SKU-P2:default"),
    }


def test_a_diff_out_of_write_order_is_refused(make_client, sandbox, database_url):
    with pytest.raises(ValueError, match="materialize the diff again"):
        write_stream(make_client, database_url, [[create("P1"), stock("P1", 4)], [create("P2")]])

    assert sorted(sandbox.state("test", SITE)["products"]) == ["P1"]  # what came in order was written
    assert ("product", "P2") not in state_keys(database_url)
