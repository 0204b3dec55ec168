from datetime import datetime, timezone
from decimal import Decimal

from ignite_etl.model import Price, Product, RecordProblem, StockLevel, Variant, VariantOption
from ignite_etl.platforms.marketplacer.mapping import MappedAdverts, map_advert, slugify

ADVERT = {
    "__typename": "Advert", "id": "QWR2ZXJ0LTEy", "legacyId": 12, "title": "Café Kettle 2L", "online": True,
    "published": True, "updatedAt": "2025-03-01T10:00:00+00:00", "displayImage": {"url": "https://img/12.jpg"},
    "variants": {"pageInfo": {"hasNextPage": False}, "nodes": [
        {"id": "VmFyaWFudC0yMQ==", "legacyId": 21, "sku": "KET-RED", "barcode": "930000000021", "countOnHand": 4,
         "lowestPrice": "99.0",
         "inventories": {"nodes": [{"countOnHand": 4, "price": {"amount": "89.95"}}]},
         "optionValues": {"nodes": [{"name": "red", "displayName": "Red", "optionType": {"name": "Colour"}}]},
         "shippingParcel": {"weightInKg": 1.25}},
        {"id": "VmFyaWFudC0yMg==", "legacyId": 22, "sku": None, "barcode": None, "countOnHand": 1,
         "lowestPrice": "89.95", "inventories": {"nodes": []}, "optionValues": {"nodes": []}, "shippingParcel": None},
        {"id": "VmFyaWFudC0yMw==", "legacyId": 23, "sku": "KET-BLK", "barcode": None, "countOnHand": 0,
         "lowestPrice": "TBC", "inventories": {"nodes": [{"countOnHand": 0, "price": {"amount": "TBC"}}]},
         "optionValues": {"nodes": []}, "shippingParcel": None},
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
                    options=(VariantOption(name="Colour", value="Red"),), status="live",
                    cart_image_url="https://img/12.jpg"),
            Variant(external_id="VmFyaWFudC0yMw==", product_external_id="QWR2ZXJ0LTEy", sku="KET-BLK",
                    position=3, status="live", cart_image_url="https://img/12.jpg"),
        ),
    )]
    assert mapped.stock_levels == [
        StockLevel(sku="KET-RED", location_external_id="marketplacer", stock_level=4),
        StockLevel(sku="KET-BLK", location_external_id="marketplacer", stock_level=0),
    ]
    assert mapped.prices == [Price(sku="KET-RED", price_list_slug="marketplacer-price", quantity=1,
                                   price=Decimal("89.95"), currency="AUD")]
    assert mapped.problems == [
        RecordProblem(entity="variant", external_id="variant:22",
                      message="Variant 22 has no SKU, so it cannot be synced to SparkLayer",
                      resolution="Variant 22 has no SKU: add one in Marketplacer", visible_id="22"),
        RecordProblem(entity="price", external_id="variant:23:price",
                      message="The price of SKU KET-BLK ('TBC') is not a number, so it was not synced",
                      resolution="Set a valid price on SKU KET-BLK in Marketplacer", visible_id="KET-BLK"),
    ]


def test_price_falls_back_to_lowest_price_without_an_inventory_price():
    advert = {**ADVERT, "variants": {"nodes": [{**ADVERT["variants"]["nodes"][0], "inventories": {"nodes": []}}]}}
    mapped = MappedAdverts()

    map_advert(advert, "NZD", mapped)

    assert [(p.price, p.currency) for p in mapped.prices] == [(Decimal("99.0"), "NZD")]


def test_deleted_advert_discontinues_its_variants_and_keeps_no_title():
    deleted = {"__typename": "DeletedAdvert", "id": "QWR2ZXJ0LTEy", "updatedAt": "2025-03-02T00:00:00+00:00",
               "variants": ADVERT["variants"]}
    mapped = MappedAdverts()

    map_advert(deleted, "AUD", mapped)

    product = mapped.products[0]
    assert (product.status, product.title, product.slug, product.visible_id) == ("discontinued", None, None, "12")
    assert [v.status for v in product.variants] == ["discontinued", "discontinued"]
    assert mapped.prices == []
    assert [p.external_id for p in mapped.problems] == ["variant:22"]


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
            assert {v.status for v in products[str(advert_id)].variants} == {"discontinued"}
    odd = {str(a) for kind in ("offline_advert", "unpublished_advert", "deleted_advert") for a in report.broken[kind]}
    assert {p.status for vid, p in products.items() if vid not in odd} == {"live"}
    variants = sum(len(p.variants) for p in products.values())
    assert variants == report.variants - len(report.broken["variant_without_sku"])


def test_generated_catalogue_is_deterministic_for_a_seed(sandbox):
    first = sandbox.generate(50, seed=9, broken_rate=0.2)
    titles = [a.title for a in sandbox.catalogue.adverts.values()]
    second = sandbox.generate(50, seed=9, broken_rate=0.2)

    assert first.as_dict() == second.as_dict()
    assert titles == [a.title for a in sandbox.catalogue.adverts.values()]
