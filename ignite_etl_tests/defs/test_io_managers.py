import dagster as dg
import pandas as pd
import pytest

from ignite_etl.defs.io_managers import ALL_CONNECTIONS, PostgresFrameIOManager
from ignite_etl.defs.partitions import connections_partitions
from ignite_etl.store.database import connect


@dg.asset(partitions_def=connections_partitions, group_name="iotest_platform")
def products(context: dg.AssetExecutionContext) -> pd.DataFrame:
    shop = context.partition_key
    return pd.DataFrame({"sku": [f"{shop}-1", f"{shop}-2", f"{shop}-3"], "stock": [5, 0, 12]})


@dg.asset(partitions_def=connections_partitions, group_name="iotest_diff")
def in_stock(products: pd.DataFrame) -> pd.DataFrame:
    return products[products["stock"] > 0].reset_index(drop=True)


@dg.asset(group_name="iotest_reporting")
def stock_report(in_stock: pd.DataFrame) -> pd.DataFrame:
    # A stored frame cannot have its own connection_id column: that name tags the rows.
    per_shop = in_stock.rename(columns={"connection_id": "shop"})
    return per_shop.groupby("shop", as_index=False)["stock"].sum()


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(connections_partitions.name, ["test-shop", "test-other"])
        yield instance


def _rows(url: str, query: str) -> list[dict]:
    with connect(url) as conn:
        return conn.execute(query).fetchall()


def _materialize(assets, database_url, instance, partition_key=None) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        assets,
        partition_key=partition_key,
        resources={"io_manager": PostgresFrameIOManager(url=database_url)},
        instance=instance,
    )


def test_partitioned_outputs_are_rows_of_the_connection_in_a_table_per_asset(database_url, instance):
    result = _materialize([products, in_stock], database_url, instance, partition_key="test-shop")

    assert result.success
    assert _rows(database_url, "select connection_id, sku, stock from iotest_platform.products order by _row") == [
        {"connection_id": "test-shop", "sku": "test-shop-1", "stock": 5},
        {"connection_id": "test-shop", "sku": "test-shop-2", "stock": 0},
        {"connection_id": "test-shop", "sku": "test-shop-3", "stock": 12},
    ]
    assert _rows(database_url, "select connection_id, sku from iotest_diff.in_stock order by _row") == [
        {"connection_id": "test-shop", "sku": "test-shop-1"},
        {"connection_id": "test-shop", "sku": "test-shop-3"},
    ]


def test_downstream_reads_only_its_own_partition_of_the_upstream(database_url, instance):
    _materialize([products, in_stock], database_url, instance, partition_key="test-other")
    _materialize([products, in_stock], database_url, instance, partition_key="test-shop")

    assert _rows(database_url, "select sku from iotest_diff.in_stock where connection_id = 'test-shop' order by _row") == [
        {"sku": "test-shop-1"},
        {"sku": "test-shop-3"},
    ]
    assert _rows(database_url, "select count(*) as n from iotest_diff.in_stock") == [{"n": 4}]


def test_output_metadata_names_the_table_and_counts_the_rows(database_url, instance):
    result = _materialize([products, in_stock], database_url, instance, partition_key="test-shop")

    [materialization] = [
        m for m in result.asset_materializations_for_node("in_stock") if m.asset_key == dg.AssetKey("in_stock")
    ]
    assert materialization.metadata["dagster/table_name"].value == "iotest_diff.in_stock"
    assert materialization.metadata["dagster/partition_row_count"].value == 2


def test_unpartitioned_asset_reads_every_connection_and_is_stored_under_the_all_connections_id(
    database_url, instance
):
    _materialize([products, in_stock], database_url, instance, partition_key="test-shop")
    _materialize([products, in_stock], database_url, instance, partition_key="test-other")

    result = dg.materialize(
        [products, in_stock, stock_report],
        selection=[stock_report],
        resources={"io_manager": PostgresFrameIOManager(url=database_url)},
        instance=instance,
    )

    assert result.success
    assert _rows(database_url, "select connection_id, shop, stock from iotest_reporting.stock_report order by _row") == [
        {"connection_id": ALL_CONNECTIONS, "shop": "test-other", "stock": 17},
        {"connection_id": ALL_CONNECTIONS, "shop": "test-shop", "stock": 17},
    ]
