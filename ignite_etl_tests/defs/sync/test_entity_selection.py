"""`ignite-etl sync --entity`: which assets a partial full sync runs."""

from __future__ import annotations

import pytest

from ignite_etl.defs.sync.run import CATALOGUE_OUTPUTS, selection_for


def names(entities) -> list[str]:
    return [key.to_user_string() for key in selection_for(entities)]


def test_stock_runs_its_load_what_it_reads_and_the_sync_log_but_no_other_load():
    chosen = names(["stock"])
    # The load depends on its stored diff by `deps`, and the diff on the variants extract: both come along.
    assert {"sparklayer_stock", "stock_changes", "sparklayer_sync_log", *CATALOGUE_OUTPUTS} <= set(chosen)
    assert not {"sparklayer_products", "sparklayer_customers", "product_changes", "platform_customers"} & set(chosen)


def test_products_bring_the_variants_extract_their_diff_reads_in_chunks():
    chosen = names(["products"])
    assert {"sparklayer_products", "product_changes", "platform_variants", "platform_problems"} <= set(chosen)
    assert "sparklayer_stock" not in chosen


def test_no_entities_is_the_whole_job_and_an_unknown_one_is_refused():
    assert selection_for([]) is None
    with pytest.raises(ValueError, match="unknown entity orders: choose from products, stock"):
        selection_for(["orders"])
