"""Random changes to the simulated store for `full-churn`, each touching exactly one record SparkLayer holds.

A change is a new title (one product), a new price (one SKU's pricing) or a new stock level (one
SKU's stock), on online adverts whose variants all sync cleanly, so the number of changes is the
number of records a perfect sync writes.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from ignite_etl.sandbox.marketplacer.sandbox import MarketplacerSandbox
from ignite_etl.sandbox.shopify.sandbox import ShopifySandbox

KINDS = ("title", "price", "stock")


@dataclass
class Churn:
    changed_records: int = 0
    by_kind: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        return {"changed_records": self.changed_records, "by_kind": dict(self.by_kind)}


def apply_churn(marketplacer: MarketplacerSandbox, clean_adverts: list[int], *, fraction: float = 0.01,
                seed: int = 1) -> Churn:
    """Change `fraction` of all adverts (at least one), each advert once, kinds in turn."""
    rng = random.Random(seed)
    catalogue = marketplacer.catalogue
    count = min(len(clean_adverts), max(1, round(len(catalogue.adverts) * fraction)))
    churn = Churn()
    for index, advert_id in enumerate(rng.sample(clean_adverts, count)):
        kind = KINDS[index % len(KINDS)]
        advert = catalogue.adverts[advert_id]
        if kind == "title":
            marketplacer.set_title(advert_id, f"{advert.title} (revised {index})")
        else:
            variant = rng.choice(catalogue.live_variants(advert))
            if kind == "price":
                marketplacer.set_price(variant.legacy_id, f"{Decimal(variant.price) + Decimal('1.00'):.2f}")
            else:
                marketplacer.set_stock(variant.legacy_id, variant.count_on_hand + 7)
        churn.by_kind[kind] += 1
        churn.changed_records += 1
    return churn


def apply_shop_churn(shopify: ShopifySandbox, clean_products: list[int], *, fraction: float = 0.01,
                     seed: int = 1) -> Churn:
    """The same churn on a Shopify shop: a stock change is at one location (one SparkLayer stock record)."""
    rng = random.Random(seed)
    shop = shopify.shop
    count = min(len(clean_products), max(1, round(len(shop.products) * fraction)))
    churn = Churn()
    for index, product_id in enumerate(rng.sample(clean_products, count)):
        kind = KINDS[index % len(KINDS)]
        product = shop.products[product_id]
        if kind == "title":
            shopify.update_product(product_id, title=f"{product.title} (revised {index})")
        else:
            variant = shop.variants[rng.choice(product.variant_ids)]
            if kind == "price":
                shopify.update_variant(variant.id, price=f"{Decimal(variant.price) + Decimal('1.00'):.2f}")
            else:
                location, level = next(iter(variant.levels.items()))
                shopify.set_stock(variant.id, level + 7, location)
        churn.by_kind[kind] += 1
        churn.changed_records += 1
    return churn
