"""The adapter reads a Shopify store whole and right, over real HTTP against the simulator: every product,
variant, stock level and price, nested pages included, within Shopify's cost budget."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from ignite_etl.platforms import InvalidCredentials
from ignite_etl.platforms.limits import SharedRateLimits
from ignite_etl.platforms.shopify import queries
from ignite_etl.store.database import Database
from ignite_etl_tests.platforms.shopify.conftest import TIME_SCALE


def read_all(platform, **options):
    products, stock, prices, problems = [], [], [], []
    for page in platform.iter_catalogue(**options):
        products += page.products
        stock += page.stock_levels
        prices += page.prices
        problems += page.problems
    return products, stock, prices, problems


def test_a_full_read_brings_every_product_variant_stock_level_and_price(sandbox, connect):
    report = sandbox.generate(12, seed=3, broken_rate=0.1)
    platform = connect()

    products, stock, prices, problems = read_all(platform)

    shop = sandbox.shop
    assert sorted(p.external_id for p in products) == sorted(str(i) for i in shop.products)
    with_sku = [v for v in shop.variants.values() if v.sku]
    assert sorted(v.external_id for p in products for v in p.variants) == sorted(str(v.id) for v in with_sku)
    assert len(problems) == report["variants_without_sku"] > 0
    live = {v.sku: v for v in with_sku if shop.products[v.product_id].status == "ACTIVE"}
    assert {p.sku: str(p.price) for p in prices} == {sku: v.price for sku, v in live.items()}
    expected_stock = {(v.sku, str(loc)): n for v in live.values() for loc, n in v.levels.items()}
    assert {(s.sku, s.location_external_id): s.stock_level for s in stock if s.sku in live} == expected_stock
    assert {loc.external_id for loc in platform.stock_locations()} == {str(i) for i in shop.locations}


def test_nested_pages_are_read_to_their_end(sandbox, connect):
    for n in range(queries.LEVELS_PER_PAGE + 2):
        sandbox.add_location(f"Store {n}")
    locations = list(sandbox.shop.locations)
    many = [{"sku": f"BIG-{n}", "price": "5.00", "options": [("Size", str(n))],
             "stock": {loc: n for loc in locations},
             "metafields": {"pack_size": ("number_integer", "2")}} for n in range(queries.VARIANTS_PER_PAGE * 2 + 3)]
    product_id = sandbox.add_product("Big", many)

    [product], stock, _, problems = read_all(connect())

    assert product.external_id == str(product_id)
    assert [v.sku for v in product.variants] == [f"BIG-{n}" for n in range(len(many))]
    assert len(stock) == len(many) * len(locations)
    assert all(v.settings and v.settings[0].order_increment == 2 for v in product.variants)
    assert problems == []


def test_an_incremental_read_brings_what_changed_since(sandbox, connect):
    sandbox.generate(6, seed=4, broken_rate=0)
    platform = connect()
    since = datetime.now(UTC) + timedelta(seconds=2)
    changed = list(sandbox.shop.products)[2]
    sandbox.shop._clock = since + timedelta(seconds=1)  # the edit happens after `since`
    sandbox.update_product(changed, title="Renamed")

    products, *_ = read_all(platform, updated_since=since)

    assert [(p.external_id, p.title) for p in products] == [(str(changed), "Renamed")]


def test_a_webhook_names_a_product_or_an_inventory_item_and_gets_its_product(sandbox, connect):
    first = sandbox.add_product("One", [{"sku": "ONE", "price": "1.00", "stock": 3}])
    second = sandbox.add_product("Two", [{"sku": "TWO", "price": "2.00", "stock": 4}])
    item = sandbox.shop.variants[sandbox.shop.products[second].variant_ids[0]].inventory_item_id

    page = connect().fetch_products([str(first), f"inventory_item:{item}", "999999"])

    assert sorted(p.external_id for p in page.products) == sorted([str(first), str(second)])
    assert page.missing_ids == ("999999",)


def test_every_query_stays_within_shopify_cost_limit_and_nothing_is_throttled(sandbox, connect):
    sandbox.generate(16, seed=5)
    # 500 points a second in real time (the sandbox and the client both scale time by TIME_SCALE): the
    # bucket runs low within a few pages, so the reads must wait for it
    sandbox.set_throttle(maximum_available=1000, restore_rate=500 * TIME_SCALE)
    platform = connect()

    read_all(platform)

    assert 0 < sandbox.max_cost_seen <= 1000
    assert sandbox.throttled_requests == 0
    assert platform.client.paced_waits > 0  # it waited for the bucket, before Shopify had to refuse


def test_a_throttled_answer_is_waited_out(sandbox, connect):
    sandbox.generate(3, seed=6)
    sandbox.set_throttle(maximum_available=1000, restore_rate=500 * TIME_SCALE)  # 500 points a second, real time
    platform = connect()
    platform.check_credentials()  # it has seen a full bucket...
    sandbox.drain_bucket()  # ...which another worker of the same app then emptied

    products, *_ = read_all(platform, updated_since=datetime(2000, 1, 1, tzinfo=UTC))

    assert len(products) == 3
    assert sandbox.throttled_requests >= 1
    assert platform.client.throttled_answers == sandbox.throttled_requests


def test_an_expiring_token_is_refreshed_before_it_expires_and_the_new_tokens_are_saved(sandbox, connect):
    sandbox.generate(2, seed=7)
    saved: list[dict] = []
    grant = sandbox.issue_token()
    grant["expires_in"] = 60  # inside the refresh margin: refresh before the first call
    platform = connect(tokens=grant, saved=saved)

    assert platform.store_settings().base_currency == "AUD"
    assert platform.client.tokens.refreshes == 1
    [fresh] = saved
    assert fresh["access_token"] != grant["access_token"]
    assert fresh["refresh_token"] != grant["refresh_token"]
    assert int(fresh["access_token_expires_at"]) > datetime.now(UTC).timestamp() + 3000


def test_a_token_refused_before_its_time_is_refreshed_once_and_the_call_goes_on(sandbox, connect):
    saved: list[dict] = []
    platform = connect(saved=saved)
    sandbox.expire_tokens()

    platform.check_credentials()

    assert platform.client.tokens.refreshes == 1 and len(saved) == 1


def test_a_token_that_cannot_be_refreshed_is_invalid_credentials(sandbox, connect):
    platform = connect()
    sandbox.uninstall()  # revokes the access and refresh tokens

    with pytest.raises(InvalidCredentials, match="reinstall"):
        platform.check_credentials()


def test_the_base_currency_is_the_shops(sandbox, connect):
    sandbox.set_currency("NZD")

    assert connect().store_settings().base_currency == "NZD"


def test_a_full_read_of_a_large_store_runs_as_bulk_operations_and_reads_what_paging_reads(sandbox, connect):
    sandbox.generate(40, seed=8, broken_rate=0.05)
    for n in range(queries.LEVELS_PER_PAGE + 1):
        sandbox.add_location(f"Extra {n}")
    big = [{"sku": f"BIG-{n}", "price": "5.00", "options": [("Size", str(n))], "stock": n,
            "metafields": {"restock_date": ("date", "2027-01-0" + str(1 + n % 9))}} for n in range(25)]
    sandbox.add_product("Big", big)

    bulk = connect(bulk_from=10)
    paged = connect(bulk_from=10_000)
    by_bulk = read_all(bulk)
    bulk_requests = sandbox.graphql_requests
    by_paging = read_all(paged)
    paged_requests = sandbox.graphql_requests - bulk_requests

    assert len(sandbox.bulk_operations) == 2  # products with variants, then metafields and stock
    assert [op.status for op in sandbox.bulk_operations.values()] == ["COMPLETED", "COMPLETED"]
    for got, expected in zip(by_bulk, by_paging):
        assert sorted(got, key=repr) == sorted(expected, key=repr)
    assert paged_requests > 2 * bulk_requests  # paging the same store takes many more calls


def test_a_bulk_read_waits_for_one_already_running(sandbox, connect):
    sandbox.generate(5, seed=9)
    sandbox.bulk_window_seconds = 0.2
    sandbox.run_bulk_query("{ products { edges { node { id } } } }")  # someone else's, still running

    products, *_ = read_all(connect(bulk_from=1))

    assert len(products) == 5
    assert [op.status for op in sandbox.bulk_operations.values()] == ["COMPLETED"] * 3


@pytest.mark.parametrize("shared", [True, False], ids=["shared-bucket", "each-its-own"])
def test_workers_reading_one_shop_at_once_share_its_cost_bucket(sandbox, connect, database_url, shared):
    """Three workers read the same Standard shop (1,000 points, 100 a second, time running 5 times faster) at
    once. Sharing the bucket through Postgres, neither is ever throttled; each pacing by its own reading of the
    bucket, they overdraw it."""
    sandbox.generate(24, seed=8)
    sandbox.time_scale = scale = 0.2
    limits = SharedRateLimits(Database(database_url), time_scale=scale) if shared else None  # the default share
    workers = [connect(rate_limits=limits, time_scale=scale) for _ in range(3)]
    read = {}
    go = threading.Barrier(len(workers))

    def work(n: int) -> None:
        go.wait()
        read[n] = read_all(workers[n], updated_since=datetime(2000, 1, 1, tzinfo=UTC))[0]

    threads = [threading.Thread(target=work, args=(n,)) for n in range(len(workers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [len(read[n]) for n in range(len(workers))] == [24] * len(workers)
    if shared:
        assert sandbox.throttled_requests == 0
        assert sum(w.client.paced_waits for w in workers) > 0
    else:
        assert sandbox.throttled_requests > 0


def test_a_catalog_price_that_is_not_a_number_is_a_problem_of_that_sku_on_that_list(sandbox, connect):
    product = sandbox.add_product("Kettle", [{"sku": "K-1", "price": "20.00"}, {"sku": "K-2", "price": "30.00"}])
    k1, k2 = sandbox.shop.products[product].variant_ids
    price_list = sandbox.add_catalog("Trade", decrease_percent=50)
    sandbox.shop.price_lists[price_list].fixed[k2] = "ask us"
    platform = connect()

    _, _, prices, problems = read_all(platform)

    [listed] = platform.price_lists()
    assert (listed.slug, listed.name, listed.currency) == (f"shopify-price-list-{price_list}", "Trade", "AUD")
    assert {(p.sku, str(p.price)) for p in prices if p.price_list_slug == listed.slug} == {("K-1", "10.00")}
    [problem] = problems
    assert problem.entity == "price" and problem.external_id == f"variant:{k2}:{listed.slug}"
    assert "'ask us'" in problem.message and "catalog Trade" in problem.resolution


def test_catalog_prices_are_paged_and_a_catalog_deleted_while_read_ends_its_pages(sandbox, connect):
    variants = [{"sku": f"K-{n}", "price": "20.00"} for n in range(queries.PRICES_PER_PAGE + 4)]
    sandbox.add_product("Kettle", variants)
    kept = sandbox.add_catalog("Trade", decrease_percent=50)
    gone = sandbox.add_catalog("Retired", decrease_percent=10)
    platform = connect()
    assert {p.slug for p in platform.price_lists()} == {f"shopify-price-list-{kept}", f"shopify-price-list-{gone}"}
    del sandbox.shop.price_lists[gone]  # after the lists were read, before their prices are

    _, _, prices, problems = read_all(platform)

    listed = [p for p in prices if p.price_list_slug.startswith("shopify-price-list-")]
    assert sorted(p.sku for p in listed) == sorted(v["sku"] for v in variants)  # more than one page
    assert {(p.price_list_slug, str(p.price)) for p in listed} == {(f"shopify-price-list-{kept}", "10.00")}
    assert problems == []
