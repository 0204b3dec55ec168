from datetime import datetime, timedelta, timezone

from ignite_etl.platforms.marketplacer.mapping import PRICE_LIST_SLUG


def _all(platform, **kwargs):
    pages = list(platform.iter_catalogue(**kwargs))
    return pages, [p for page in pages for p in page.products]


def test_full_extraction_pages_through_every_advert_once(sandbox, connect):
    sandbox.generate(230, seed=5, broken_rate=0)
    platform = connect(page_size=25)

    pages, products = _all(platform)

    assert len(pages) == 10
    assert [len(page.products) for page in pages][:9] == [25] * 9
    assert len({p.external_id for p in products}) == 230
    assert platform.client.requests_sent == 10


def test_page_size_argument_overrides_the_default(sandbox, connect):
    sandbox.generate(40, seed=5, broken_rate=0)

    pages, _ = _all(connect(page_size=25), page_size=7)

    assert [len(page.products) for page in pages] == [7, 7, 7, 7, 7, 5]


def test_updated_since_returns_only_changed_adverts(sandbox, connect):
    sandbox.generate(60, seed=2, broken_rate=0)
    platform = connect()
    _, before = _all(platform)
    since = max(p.updated_at for p in before) + timedelta(seconds=1)
    since = max(since, datetime.now(timezone.utc) - timedelta(seconds=1))

    sandbox.set_title(7, "Renamed lantern")
    sandbox.set_price(sandbox.catalogue.adverts[12].variant_ids[0], "19.95")
    _, changed = _all(platform, updated_since=since)

    assert {p.visible_id for p in changed} == {"7", "12"}
    assert next(p for p in changed if p.visible_id == "7").title == "Renamed lantern"


def test_unpublished_and_offline_adverts_come_back_discontinued_and_deleted_ones_without_variants(sandbox, connect):
    sandbox.generate(20, seed=4, broken_rate=0)
    sandbox.delete_advert(3)
    sandbox.set_advert_state(4, "unpublished")
    sandbox.set_advert_state(5, "offline")

    _, products = _all(connect())
    by_id = {p.visible_id: p for p in products}

    assert len(products) == 20
    for legacy_id in ("4", "5"):  # read through the advert, or an unpublished one's details
        assert by_id[legacy_id].status == "discontinued"
        assert len(by_id[legacy_id].variants) == len(sandbox.catalogue.adverts[int(legacy_id)].variant_ids)
        assert {v.status for v in by_id[legacy_id].variants} == {"discontinued"}
    # a DeletedAdvert names only variant ids: the diff discontinues the variants we hold for it
    assert (by_id["3"].status, by_id["3"].title, by_id["3"].variants) == ("discontinued", None, ())
    assert by_id["4"].title == sandbox.catalogue.adverts[4].title
    assert by_id["6"].status == "live"


def test_discontinued_variants_report_zero_stock_and_no_price(sandbox, connect):
    sandbox.generate(5, seed=4, broken_rate=0)
    sandbox.set_advert_state(2, "offline")
    skus = {sandbox.catalogue.variants[v].sku for v in sandbox.catalogue.adverts[2].variant_ids}

    page = next(iter(connect().iter_catalogue()))

    assert {s.stock_level for s in page.stock_levels if s.sku in skus} == {0}
    assert not [p for p in page.prices if p.sku in skus]


def test_stock_and_price_follow_the_variant(sandbox, connect):
    advert_id = sandbox.add_advert("Tent", [{"sku": "TENT-1", "price": "249.50", "count_on_hand": 7}])

    page = next(iter(connect().iter_catalogue()))

    assert [(s.sku, s.stock_level, s.location_external_id) for s in page.stock_levels] == [
        ("TENT-1", 7, "marketplacer")
    ]
    assert [(p.sku, str(p.price), p.currency, p.quantity, p.price_list_slug) for p in page.prices] == [
        ("TENT-1", "249.50", "AUD", 1, PRICE_LIST_SLUG)
    ]
    assert page.products[0].visible_id == str(advert_id)


def test_fetch_products_resolves_variant_ids_to_their_advert_and_reports_unknown_ids(sandbox, connect):
    sandbox.generate(10, seed=1, broken_rate=0)
    sandbox.delete_advert(2)
    platform = connect()
    from ignite_etl.sandbox.marketplacer.catalogue import global_id

    variant_of_5 = global_id("Variant", sandbox.catalogue.adverts[5].variant_ids[0])
    page = platform.fetch_products([variant_of_5, global_id("Advert", 2), global_id("Advert", 5), global_id("Advert", 999)])

    assert sorted(p.visible_id for p in page.products) == ["2", "5"]
    assert next(p for p in page.products if p.visible_id == "2").status == "discontinued"
    assert page.missing_ids == (global_id("Advert", 999),)


def test_an_advert_with_more_variants_than_a_page_is_read_whole(sandbox, connect):
    sandbox.generate(3, seed=2, broken_rate=0, large_adverts=1)  # advert 4 has 250 variants
    platform = connect()

    _, products = _all(platform)
    large = next(p for p in products if p.visible_id == "4")

    assert len(large.variants) == 250
    assert [v.position for v in large.variants] == list(range(1, 251))
    assert len({v.external_id for v in large.variants}) == 250
    # one allAdverts page, then two more pages of the large advert's variants (100 per page)
    assert platform.client.requests_sent == 3


def test_fetch_products_reads_a_large_advert_whole_too(sandbox, connect):
    sandbox.generate(1, seed=2, broken_rate=0, large_adverts=1)
    from ignite_etl.sandbox.marketplacer.catalogue import global_id

    page = connect().fetch_products([global_id("Variant", sandbox.catalogue.adverts[2].variant_ids[-1])])

    assert [len(p.variants) for p in page.products] == [250]


def test_b2b_attributes_come_from_the_rrp_and_the_variant_metadata(sandbox, connect):
    advert_id = sandbox.add_advert("Crate", [
        {"sku": "CRATE-1", "price": "10.00", "count_on_hand": 5, "rrp": "14.95",
         "metadata": {"restock_date": "2027-02-01", "min_stock_level": "-2", "pack_size": "6", "colour_code": "x"}},
        {"sku": "CRATE-2", "price": "12.00", "count_on_hand": 5,
         "metadata": {"min_order_quantity": "3", "settings": '{"trade": {"min_order_quantity": 10, "pack_size": 5}}'}},
    ])
    sandbox.catalogue.adverts[advert_id].rrp = "19.00"

    page = next(iter(connect().iter_catalogue()))
    first, second = page.products[0].variants
    stock = {s.sku: s for s in page.stock_levels}

    assert [(m.currency, str(m.amount)) for m in first.rrp] == [("AUD", "14.95")]
    assert [(m.currency, str(m.amount)) for m in second.rrp] == [("AUD", "19.00")]  # the advert's, as the variant has none
    assert [s.model_dump(exclude_none=True) for s in first.settings] == [{"customer_group": "base", "order_increment": 6}]
    assert [s.model_dump(exclude_none=True) for s in second.settings] == [
        {"customer_group": "base", "minimum_order_quantity": 3},
        {"customer_group": "trade", "minimum_order_quantity": 10, "order_increment": 5},
    ]
    assert (str(stock["CRATE-1"].restock_date), stock["CRATE-1"].min_stock_level) == ("2027-02-01", -2)
    assert (stock["CRATE-2"].restock_date, stock["CRATE-2"].min_stock_level) == (None, None)
    assert page.problems == ()


def test_a_b2b_value_that_does_not_parse_is_a_problem_for_that_variant_and_the_rest_syncs(sandbox, connect):
    sandbox.add_advert("Crate", [
        {"sku": "CRATE-1", "price": "10.00", "count_on_hand": 5, "rrp": "14.95",
         "metadata": {"restock_date": "next week", "pack_size": "6", "settings": "{not json"}},
    ])

    page = next(iter(connect().iter_catalogue()))
    (variant,) = page.products[0].variants

    assert variant.sku == "CRATE-1" and variant.status == "live"
    assert [s.model_dump(exclude_none=True) for s in variant.settings] == [{"customer_group": "base", "order_increment": 6}]
    assert page.stock_levels[0].restock_date is None and page.stock_levels[0].stock_level == 5
    problems = {p.external_id: p for p in page.problems}
    legacy_id = sandbox.catalogue.adverts[1].variant_ids[0]
    assert set(problems) == {f"variant:{legacy_id}:restock_date", f"variant:{legacy_id}:settings"}
    assert "next week" in problems[f"variant:{legacy_id}:restock_date"].message
    assert "2027-03-01" in problems[f"variant:{legacy_id}:restock_date"].resolution
