"""The full-sync scenarios at a tiny scale: the figures come from what the simulators really saw.

No assertion here is about speed; `ignite-etl bench` measures that.
"""

from __future__ import annotations

import json

import pytest

from ignite_etl.bench import report
from ignite_etl.bench.full_sync import run_full_sync_scenario
from ignite_etl.bench.stack import BenchStack

ADVERTS = 20
# seven child processes each import Dagster; on a loaded 2-core machine that alone can take minutes
pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def bench_steps(pg_server_url):
    """One `full` run (first, unchanged, churn of 15% = 3 adverts) shared by the tests below."""
    with BenchStack(pg_server_url, adverts=ADVERTS, latency_ms=0) as stack:
        steps = run_full_sync_scenario(stack, "full", churn_fraction=0.15)
        yield stack, {s["step"]: s for s in steps}


def test_full_bench_reports_every_step_with_its_baseline(bench_steps, tmp_path):
    stack, steps = bench_steps
    assert list(steps) == ["full-first", "full-unchanged", "full-churn"]
    for step in steps.values():
        for side in ("ours", "naive"):
            figures = step[side]
            assert figures["success"] is True
            assert figures["wall_s"] > 0 and figures["peak_rss_mib"] >= figures["rss_before_run_mib"] > 0
            assert figures["marketplacer"]["by_operation"]["AllAdverts"] >= 1
        assert set(step["ratios"]) == {"wall", "write_requests", "records_written", "sparklayer_requests", "peak_rss"}
    first = steps["full-first"]
    # the first sync writes what the baseline writes, in fewer requests (stock and prices go in batches)
    assert first["ours"]["sparklayer"]["records_written"] == first["naive"]["sparklayer"]["records_written"] > ADVERTS
    assert first["ours"]["sparklayer"]["write_requests"] < first["naive"]["sparklayer"]["write_requests"]
    assert first["ours"]["sparklayer"]["by_kind"]["create_product"] == first["naive"]["sparklayer"]["by_kind"]["create_product"]

    path = tmp_path / "bench.json"
    report.write_json({"steps": list(steps.values())}, path)
    assert [s["step"] for s in json.loads(path.read_text())["steps"]] == list(steps)
    assert "records written / changed" in report.sync_table(steps["full-churn"])


def test_unchanged_store_makes_no_writes_and_the_baseline_rewrites_everything(bench_steps):
    _, steps = bench_steps
    unchanged = steps["full-unchanged"]
    assert unchanged["ours"]["sparklayer"]["write_requests"] == 0
    assert unchanged["ours"]["sparklayer"]["records_written"] == 0
    assert unchanged["naive"]["sparklayer"]["records_written"] == steps["full-first"]["naive"]["sparklayer"]["records_written"]
    assert unchanged["catalogue_paging_s"] > 0 and unchanged["wall_over_paging"] is not None


def test_churn_writes_exactly_the_records_that_changed(bench_steps):
    stack, steps = bench_steps
    churn = steps["full-churn"]
    changed = churn["churn"]["changed_records"]
    assert changed == 3 and churn["churn"]["by_kind"] == {"title": 1, "price": 1, "stock": 1}
    by_kind = churn["ours"]["sparklayer"]["by_kind"]
    assert (by_kind.get("update_product"), by_kind.get("update_pricing"), by_kind.get("batch_update_stock")) == (1, 1, 1)
    assert churn["ours"]["sparklayer"]["records_written"] == changed
    assert churn["written_over_changed"] == 1.0
    # and SparkLayer now holds the changed title
    titles = {p["title"] for p in stack.sparklayer.state("test", "bench-store")["products"].values()}
    assert any("(revised 0)" in t for t in titles)


@pytest.fixture(scope="module")
def shop_steps(pg_server_url):
    """`full` on a Shopify shop (no baseline): its syncs read through bulk operations."""
    with BenchStack(pg_server_url, adverts=ADVERTS, latency_ms=0, platform="shopify") as stack:
        stack.env["IGNITE_APP_SHOPIFY_BULK_FROM"] = "1"
        steps = run_full_sync_scenario(stack, "full", churn_fraction=0.15, baseline=False)
        yield stack, {s["step"]: s for s in steps}


def test_the_shopify_bench_syncs_in_bulk_writes_nothing_unchanged_and_exactly_the_churn(shop_steps):
    stack, steps = shop_steps
    first, unchanged, churn = steps["full-first"], steps["full-unchanged"], steps["full-churn"]
    assert all(step["ours"]["success"] for step in steps.values())
    assert first["ours"]["marketplacer"]["by_operation"]["BulkOperationRunQuery"] == 2
    assert first["ours"]["sparklayer"]["by_kind"]["create_product"] >= len(stack.catalogue.clean_adverts) > 0
    assert unchanged["ours"]["sparklayer"]["records_written"] == 0
    assert unchanged["catalogue_bulk_s"] > 0 and unchanged["catalogue_paging_s"] > 0
    assert churn["churn"]["changed_records"] == 3 and churn["written_over_changed"] == 1.0
