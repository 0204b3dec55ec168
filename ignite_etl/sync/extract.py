"""Platform extracts as frames: canonical records flattened into rows an analyst can query."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

from ignite_etl.model import CataloguePage, Customer, RecordProblem
from ignite_etl.sync.entities import data_type_of

PRODUCT_COLUMNS = ["external_id", "title", "slug", "status", "visible_id", "updated_at"]
VARIANT_COLUMNS = [
    "external_id", "product_external_id", "sku", "barcode", "weight_in_grams", "position", "options", "status",
    "cart_image_url", "rrp", "settings",
]
STOCK_COLUMNS = ["sku", "location_external_id", "stock_level", "restock_date", "min_stock_level"]
PRICE_COLUMNS = ["sku", "price_list_slug", "quantity", "price", "currency"]
CUSTOMER_COLUMNS = [
    "external_id", "email", "first_name", "last_name", "company_name", "phone", "group", "accounting_id",
    "title", "tax_exempt", "price_lists", "payment_on_account", "discount_percentage", "addresses", "updated_at",
    "problems", "parent_customer_id",
]
PROBLEM_COLUMNS = ["data_type", "entity", "external_id", "message", "resolution", "visible_id", "external_url"]


class _Columns:
    """One table's rows as a list per column. A dict per row cost ~650 MiB for the rows of 100,000
    products in the bench (`ignite-etl bench`, platform_catalogue's peak RSS); lists hold only references."""

    def __init__(self, names: list[str]):
        self.names = names
        self.data: dict[str, list] = {name: [] for name in names}

    def append(self, row: dict) -> None:
        for name in self.names:
            self.data[name].append(row[name])

    def __len__(self) -> int:
        return len(self.data[self.names[0]])


@dataclass
class CatalogueFrames:
    """Accumulates catalogue pages as plain column values; the records themselves are not kept."""

    products: _Columns = field(default_factory=lambda: _Columns(PRODUCT_COLUMNS))
    variants: _Columns = field(default_factory=lambda: _Columns(VARIANT_COLUMNS))
    stock: _Columns = field(default_factory=lambda: _Columns(STOCK_COLUMNS))
    prices: _Columns = field(default_factory=lambda: _Columns(PRICE_COLUMNS))
    problems: _Columns = field(default_factory=lambda: _Columns(PROBLEM_COLUMNS))
    pages: int = 0

    def add(self, page: CataloguePage) -> None:
        self.pages += 1
        for product in page.products:
            self.products.append(
                {"external_id": product.external_id, "title": product.title, "slug": product.slug,
                 "status": product.status, "visible_id": product.visible_id, "updated_at": product.updated_at}
            )
            for v in product.variants:
                self.variants.append(
                    {"external_id": v.external_id, "product_external_id": v.product_external_id, "sku": v.sku,
                     "barcode": v.barcode, "weight_in_grams": v.weight_in_grams, "position": v.position,
                     "options": [{"name": o.name, "value": o.value} for o in v.options], "status": v.status,
                     "cart_image_url": v.cart_image_url,
                     "rrp": [{"currency": m.currency, "amount": str(m.amount)} for m in v.rrp] or None,
                     "settings": [s.model_dump(exclude_none=True) for s in v.settings] or None}
                )
        for s in page.stock_levels:
            self.stock.append({"sku": s.sku, "location_external_id": s.location_external_id,
                               "stock_level": s.stock_level, "restock_date": s.restock_date,
                               "min_stock_level": s.min_stock_level})
        for p in page.prices:
            self.prices.append({"sku": p.sku, "price_list_slug": p.price_list_slug, "quantity": p.quantity,
                                "price": p.price, "currency": p.currency})
        for problem in page.problems:
            self.problems.append(problem_row(problem))

    def frame(self, name: str) -> pd.DataFrame:
        columns: _Columns = getattr(self, name)
        frame = pd.DataFrame(columns.data, columns=columns.names)
        if name == "products":
            frame["updated_at"] = pd.to_datetime(frame["updated_at"], utc=True)
        if name == "variants":
            frame = frame.astype({"position": "Int64", "weight_in_grams": "Int64"})
        if name == "stock":
            frame = frame.astype({"min_stock_level": "Int64"})
        return frame


def problem_row(problem: RecordProblem) -> dict:
    return {"data_type": data_type_of(problem.entity), "entity": problem.entity, "external_id": problem.external_id,
            "message": problem.message, "resolution": problem.resolution, "visible_id": problem.visible_id,
            "external_url": problem.external_url}


def customers_frame(customers: Iterable[Customer]) -> pd.DataFrame:
    rows = [
        {"external_id": c.external_id, "email": c.email, "first_name": c.first_name, "last_name": c.last_name,
         "company_name": c.company_name, "phone": c.phone, "group": c.group, "accounting_id": c.accounting_id,
         "title": c.title, "tax_exempt": c.tax_exempt,
         "price_lists": list(c.price_lists) if c.price_lists is not None else None,
         "payment_on_account": c.payment_on_account.model_dump(mode="json", exclude_none=True)
                               if c.payment_on_account else None,
         "discount_percentage": c.discount_percentage,
         "addresses": [a.model_dump(exclude_none=True) for a in c.addresses], "updated_at": c.updated_at,
         "problems": [p.model_dump(exclude_none=True) for p in c.problems] or None,
         "parent_customer_id": c.parent_customer_id}
        for c in customers
    ]
    frame = pd.DataFrame(rows, columns=CUSTOMER_COLUMNS)
    frame["updated_at"] = pd.to_datetime(frame["updated_at"], utc=True)
    return frame
