"""The bulk result's join, on lines as Shopify documents them: every nested object on a line of its own,
after its parent but not always right after it, naming the parent in `__parentId`."""

from __future__ import annotations

import contextlib
import json

from ignite_etl.platforms.shopify.bulk import BulkRead


class Files:
    """The two result files, served line by line as the client's download would stream them."""

    time_scale = 1.0

    def __init__(self, *files: list[dict]):
        self.files = {f"file-{n}": [json.dumps(line) for line in lines] for n, lines in enumerate(files)}

    @contextlib.contextmanager
    def download(self, url: str):
        yield iter(self.files[url])


def product(number: int) -> dict:
    return {"id": f"gid://shopify/Product/{number}", "title": f"P{number}", "status": "ACTIVE"}


def variant(number: int, parent: int, position: int) -> dict:
    return {"id": f"gid://shopify/ProductVariant/{number}", "sku": f"S{number}", "position": position,
            "inventoryItem": {"id": f"gid://shopify/InventoryItem/{number}"},
            "__parentId": f"gid://shopify/Product/{parent}"}


def test_children_after_their_parents_in_any_order_are_joined_to_them():
    products = [product(1), product(2), variant(12, 1, 2), variant(21, 2, 1), variant(11, 1, 1)]
    details = [
        {"id": "gid://shopify/ProductVariant/11"}, {"id": "gid://shopify/ProductVariant/12"},
        {"id": "gid://shopify/ProductVariant/21"},
        {"key": "pack_size", "type": "number_integer", "value": "6", "__parentId": "gid://shopify/ProductVariant/12"},
        {"location": {"legacyResourceId": "7"}, "quantities": [{"name": "available", "quantity": 3}],
         "__parentId": "gid://shopify/ProductVariant/11"},
        # a level naming the inventory item rather than the variant is the variant's all the same
        {"location": {"legacyResourceId": "8"}, "quantities": [{"name": "available", "quantity": 4}],
         "__parentId": "gid://shopify/InventoryItem/11"},
    ]
    with BulkRead(Files(products, details)) as read:
        read._stage("file-0", read._product_line)
        read._stage("file-1", read._detail_line)
        pages = list(read.products(page_size=1))

    assert [[p["id"] for p in page] for page in pages] == [["gid://shopify/Product/1"], ["gid://shopify/Product/2"]]
    first = pages[0][0]
    assert [v["id"][-2:] for v in first["variants"]["nodes"]] == ["11", "12"]  # by position
    v11, v12 = first["variants"]["nodes"]
    assert [lv["location"]["legacyResourceId"] for lv in v11["inventoryItem"]["inventoryLevels"]["nodes"]] == ["7", "8"]
    assert v12["metafields"]["nodes"] == [{"key": "pack_size", "type": "number_integer", "value": "6"}]
    assert first["variants"]["pageInfo"] == {"hasNextPage": False}
    assert read.lines == len(products) + len(details)


def test_the_staging_file_is_gone_when_the_read_ends(tmp_path):
    with BulkRead(Files([product(1)]), staging_dir=str(tmp_path)) as read:
        read._stage("file-0", read._product_line)
        assert list(tmp_path.iterdir())

    assert list(tmp_path.iterdir()) == []
