"""Platform frames to the product bodies the diff compares."""

from __future__ import annotations

import pandas as pd

from ignite_etl.sync.extract import PRODUCT_COLUMNS, VARIANT_COLUMNS
from ignite_etl.sync.payloads import desired_products, iter_desired_products


def frames(product_ids: list[str], variants: list[tuple[str, str, int]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    products = pd.DataFrame([{"external_id": p, "title": f"Title {p}", "slug": p.lower(), "status": "online",
                              "visible_id": p, "updated_at": None} for p in product_ids], columns=PRODUCT_COLUMNS)
    rows = [{"external_id": v, "product_external_id": p, "sku": f"SKU-{v}", "barcode": None, "weight_in_grams": None,
             "position": position, "options": [], "status": "live", "cart_image_url": None}
            for v, p, position in variants]
    return products, pd.DataFrame(rows, columns=VARIANT_COLUMNS)


def test_each_product_carries_its_own_variants_in_position_order():
    products, variants = frames(["P1", "P2"], [("V3", "P1", 2), ("V1", "P1", 1), ("V2", "P2", 1)])

    desired = desired_products(products, variants)

    assert [(p.external_id, [v["external_id"] for v in p.variants]) for p in desired] == [
        ("P1", ["V1", "V3"]), ("P2", ["V2"])
    ]
    assert desired[0].fields == {"external_id": "P1", "title": "Title P1", "slug": "p1"}


def test_a_product_listed_twice_is_one_product_with_all_its_variants():
    products, variants = frames(["P1", "P1"], [("V1", "P1", 1), ("V2", "P1", 2)])

    desired = list(iter_desired_products(products, [variants]))

    assert [(p.external_id, len(p.variants)) for p in desired] == [("P1", 2)]
