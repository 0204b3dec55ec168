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


def test_deleted_and_unpublished_adverts_come_back_discontinued(sandbox, connect):
    sandbox.generate(20, seed=4, broken_rate=0)
    sandbox.delete_advert(3)
    sandbox.set_advert_state(4, "unpublished")
    sandbox.set_advert_state(5, "offline")

    _, products = _all(connect())
    by_id = {p.visible_id: p for p in products}

    assert len(products) == 20
    for legacy_id in ("3", "4", "5"):
        assert by_id[legacy_id].status == "discontinued"
        assert by_id[legacy_id].variants
        assert {v.status for v in by_id[legacy_id].variants} == {"discontinued"}
    assert by_id["3"].title is None
    assert by_id["4"].title == sandbox.catalogue.adverts[4].title
    assert by_id["6"].status == "live"


def test_discontinued_variants_report_zero_stock_and_no_price(sandbox, connect):
    sandbox.generate(5, seed=4, broken_rate=0)
    sandbox.delete_advert(2)
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
