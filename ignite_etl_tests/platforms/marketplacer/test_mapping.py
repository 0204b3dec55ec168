from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from ignite_etl.model import Money, Price, Product, RecordProblem, StockLevel, Variant, VariantOption, VariantSetting
from ignite_etl.platforms.marketplacer.mapping import IncompletePage, MappedAdverts, map_advert, slugify

NO_MORE = {"hasNextPage": False, "endCursor": None}
ADVERT = {
    "__typename": "Advert", "id": "QWR2ZXJ0LTEy", "legacyId": 12, "title": "Café Kettle 2L", "online": True,
    "updatedAt": "2025-03-01T10:00:00+00:00", "displayImage": {"url": "https://img/12.jpg"},
    "recommendedRetailPrice": "129.00", "metadata": [],
    "variants": {"pageInfo": NO_MORE, "nodes": [
        {"id": "VmFyaWFudC0yMQ==", "legacyId": 21, "sku": "KET-RED", "barcode": "930000000021", "countOnHand": 4,
         "lowestPrice": "99.0", "recommendedRetailPrice": "119.00",
         "inventories": {"nodes": [{"price": {"amount": "89.95"}}]},
         "variantOptionValues": {"pageInfo": NO_MORE, "nodes": [
             {"textValue": None, "optionType": {"displayName": "Colour"}, "optionValue": {"displayName": "Red"}},
             {"textValue": "Engraved: Ada", "optionType": {"displayName": "Engraving"}, "optionValue": None}]},
         "shippingParcel": {"weightInKg": 1.25},
         "metadata": [{"key": "restock_date", "value": "2025-04-01"}, {"key": "pack_size", "value": "2"},
                      {"key": "internal_note", "value": "ignored"}]},
        {"id": "VmFyaWFudC0yMg==", "legacyId": 22, "sku": None, "barcode": None, "countOnHand": 1,
         "lowestPrice": "89.95", "recommendedRetailPrice": None, "inventories": {"nodes": []},
         "variantOptionValues": {"pageInfo": NO_MORE, "nodes": []}, "shippingParcel": None, "metadata": []},
        {"id": "VmFyaWFudC0yMw==", "legacyId": 23, "sku": "KET-BLK", "barcode": None, "countOnHand": 0,
         "lowestPrice": "TBC", "recommendedRetailPrice": None,
         "inventories": {"nodes": [{"price": {"amount": "TBC"}}]},
         "variantOptionValues": {"pageInfo": NO_MORE, "nodes": []}, "shippingParcel": None,
         "metadata": [{"key": "min_stock_level", "value": "lots"}]},
    ]},
}


def test_golden_advert_maps_to_product_stock_prices_and_problems():
    mapped = MappedAdverts()

    map_advert(ADVERT, "AUD", mapped)

    assert mapped.products == [Product(
        external_id="QWR2ZXJ0LTEy", title="Café Kettle 2L", slug="cafe-kettle-2l-12", status="live",
        visible_id="12", updated_at=datetime(2025, 3, 1, 10, tzinfo=timezone.utc),
        variants=(
            Variant(external_id="VmFyaWFudC0yMQ==", product_external_id="QWR2ZXJ0LTEy", sku="KET-RED",
                    barcode="930000000021", weight_in_grams=1250, position=1,
                    options=(VariantOption(name="Colour", value="Red"), VariantOption(name="Engraving", value="Engraved: Ada")),
                    status="live", cart_image_url="https://img/12.jpg",
                    rrp=(Money(currency="AUD", amount=Decimal("119.00")),),
                    settings=(VariantSetting(customer_group="base", order_increment=2),)),
            Variant(external_id="VmFyaWFudC0yMw==", product_external_id="QWR2ZXJ0LTEy", sku="KET-BLK",
                    position=3, status="live", cart_image_url="https://img/12.jpg",
                    rrp=(Money(currency="AUD", amount=Decimal("129.00")),)),
        ),
    )]
    assert mapped.stock_levels == [
        StockLevel(sku="KET-RED", location_external_id="marketplacer", stock_level=4, restock_date=date(2025, 4, 1)),
        StockLevel(sku="KET-BLK", location_external_id="marketplacer", stock_level=0),
    ]
    assert mapped.prices == [Price(sku="KET-RED", price_list_slug="marketplacer-price", quantity=1,
                                   price=Decimal("89.95"), currency="AUD")]
    assert mapped.problems == [
        RecordProblem(entity="variant", external_id="variant:22",
                      message="Variant 22 has no SKU, so it cannot be synced to SparkLayer",
                      resolution="Variant 22 has no SKU: add one in Marketplacer", visible_id="22"),
        RecordProblem(entity="variant", external_id="variant:23:min_stock_level",
                      message="SKU KET-BLK has min_stock_level 'lots' in its metadata, which is not a whole number "
                              "such as 10; it was not synced",
                      resolution="Set min_stock_level on SKU KET-BLK in Marketplacer to a whole number such as 10, "
                                 "or remove it", visible_id="KET-BLK"),
        RecordProblem(entity="price", external_id="variant:23:price",
                      message="The price of SKU KET-BLK ('TBC') is not a number, so it was not synced",
                      resolution="Set a valid price on SKU KET-BLK in Marketplacer", visible_id="KET-BLK"),
    ]


def test_price_falls_back_to_lowest_price_without_an_inventory_price():
    advert = {**ADVERT, "variants": {"pageInfo": NO_MORE,
                                     "nodes": [{**ADVERT["variants"]["nodes"][0], "inventories": {"nodes": []}}]}}
    mapped = MappedAdverts()

    map_advert(advert, "NZD", mapped)

    assert [(p.price, p.currency) for p in mapped.prices] == [(Decimal("99.0"), "NZD")]


def test_deleted_advert_is_discontinued_with_no_title_and_no_variants_of_its_own():
    deleted = {"__typename": "DeletedAdvert", "id": "QWR2ZXJ0LTEy", "legacyId": 12, "updatedAt": "2025-03-02T00:00:00+00:00"}
    mapped = MappedAdverts()

    map_advert(deleted, "AUD", mapped)

    (product,) = mapped.products
    assert (product.status, product.title, product.slug, product.visible_id) == ("discontinued", None, None, "12")
    assert product.variants == ()  # the diff discontinues the variants SparkLayer holds for it
    assert (mapped.stock_levels, mapped.prices, mapped.problems) == ([], [], [])


def test_unpublished_advert_is_read_through_its_details_and_discontinued():
    unpublished = {"__typename": "UnpublishedAdvert", "id": "QWR2ZXJ0LTEy", "legacyId": 12,
                   "updatedAt": "2025-03-02T00:00:00+00:00", "details": ADVERT}
    mapped = MappedAdverts()

    map_advert(unpublished, "AUD", mapped)

    (product,) = mapped.products
    assert (product.status, product.title) == ("discontinued", "Café Kettle 2L")
    assert [(v.sku, v.status) for v in product.variants] == [("KET-RED", "discontinued"), ("KET-BLK", "discontinued")]
    assert {s.stock_level for s in mapped.stock_levels} == {0}
    assert mapped.prices == []


def test_a_connection_with_pages_left_is_refused_rather_than_read_short():
    cut = {**ADVERT, "variants": {**ADVERT["variants"], "pageInfo": {"hasNextPage": True, "endCursor": "x"}}}

    with pytest.raises(IncompletePage):
        map_advert(cut, "AUD", MappedAdverts())


def test_slug_is_ascii_words_plus_legacy_id():
    assert slugify("  Über  Tent / 3-person ", "7") == "uber-tent-3-person-7"
    assert slugify("!!!", "7") == "7"


def test_generated_catalogue_reports_exactly_its_broken_records(sandbox, connect):
    report = sandbox.generate(400, seed=11, broken_rate=0.08)

    pages = list(connect(page_size=60).iter_catalogue())
    products = {p.visible_id: p for page in pages for p in page.products}
    problems = {p.external_id for page in pages for p in page.problems}

    assert all(report.broken.values()), report.broken
    assert len(products) == 400
    assert problems == (
        {f"variant:{v}" for v in report.broken["variant_without_sku"]}
        | {f"variant:{v}:price" for v in report.broken["unparsable_price"]}
    )
    for kind in ("offline_advert", "unpublished_advert", "deleted_advert"):
        for advert_id in report.broken[kind]:
            assert products[str(advert_id)].status == "discontinued"
            assert {v.status for v in products[str(advert_id)].variants} <= {"discontinued"}
    odd = {str(a) for kind in ("offline_advert", "unpublished_advert", "deleted_advert") for a in report.broken[kind]}
    assert {p.status for vid, p in products.items() if vid not in odd} == {"live"}
    variants = sum(len(p.variants) for p in products.values())
    deleted_variants = sum(len(sandbox.catalogue.adverts[a].variant_ids) for a in report.broken["deleted_advert"])
    assert variants == report.variants - len(report.broken["variant_without_sku"]) - deleted_variants


def test_generated_catalogue_is_deterministic_for_a_seed(sandbox):
    first = sandbox.generate(50, seed=9, broken_rate=0.2)
    titles = [a.title for a in sandbox.catalogue.adverts.values()]
    second = sandbox.generate(50, seed=9, broken_rate=0.2)

    assert first.as_dict() == second.as_dict()
    assert titles == [a.title for a in sandbox.catalogue.adverts.values()]
