"""From the platform frames (canonical fields) to the bodies SparkLayer accepts.

A record SparkLayer would refuse for a reason the merchant can fix (no first name, an address
without line 1) becomes a `SyncError` here, with a resolution, instead of a doomed request.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd
from pydantic import ValidationError

from ignite_etl.diff import DesiredProduct
from ignite_etl.model import PriceList
from ignite_etl.platforms import platform_spec
from ignite_etl.sparklayer import models as sl
from ignite_etl.store.sync_log import SyncError


def price_list_slug(platform: str) -> str:
    return platform_spec(platform).price_list_slug


def price_list_for(platform: str, currency: str) -> sl.PriceList:
    """The platform's own price list, named after it ("<Display name> Price", slug `<name>-price`)."""
    spec = platform_spec(platform)
    return sl.PriceList(slug=spec.price_list_slug, name=spec.price_list_name, currency_code=currency)


def store_price_list(price_list: PriceList) -> sl.PriceList:
    """One of the store's further price lists (a B2B catalog's), as SparkLayer creates it."""
    return sl.PriceList(slug=price_list.slug, name=price_list.name, currency_code=price_list.currency)


ROWS_CHUNK = 10_000


def rows(frame: pd.DataFrame | None) -> Iterator[dict[str, Any]]:
    """Frame rows as dicts with NaN/NaT turned into None, made a chunk at a time: all of them at once
    would be a dict per row of the whole catalogue on top of the frame."""
    if frame is None or frame.empty:
        return
    for start in range(0, len(frame), ROWS_CHUNK):
        for row in frame.iloc[start:start + ROWS_CHUNK].to_dict("records"):
            yield {k: _clean(v) for k, v in row.items()}


def _clean(value: Any) -> Any:
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def desired_products(products: pd.DataFrame | None, variants: pd.DataFrame | None) -> list[DesiredProduct]:
    return list(iter_desired_products(products, [variants]))


def iter_desired_products(
    products: pd.DataFrame | None, variant_chunks: Iterable[pd.DataFrame | None]
) -> Iterator[DesiredProduct]:
    """Products as we would send them, one at a time: the diff keeps the ones it writes, and the
    unchanged ones (most of them, in a full sync) are dropped as it goes. Variants may come in
    chunks (`FrameStore.iter_slice`), so their extract is never held whole beside the bodies."""
    by_product: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for variants in variant_chunks:
        for variant in rows(variants):
            by_product[variant["product_external_id"]].append(variant_body(variant))
    done: set[str] = set()
    for product in rows(products):
        pid = str(product["external_id"])
        if pid in done:
            continue  # a product listed twice is one product, with its variants
        done.add(pid)
        fields = {"external_id": pid, "title": product.get("title"), "slug": product.get("slug")}
        variant_bodies = sorted(by_product.pop(pid, ()), key=lambda v: (v.get("position") or 0, v["external_id"]))
        yield DesiredProduct(fields, tuple(variant_bodies))


def variant_body(row: Mapping[str, Any]) -> dict[str, Any]:
    options = [sl.VariantOption(group=o["name"], value=o["value"]) for o in (row.get("options") or [])]
    weight = row.get("weight_in_grams")
    rrp = [sl.Money(currency_code=m["currency"], price=_decimal(m["amount"])) for m in row.get("rrp") or []]
    settings = [sl.VariantSetting(**s) for s in row.get("settings") or []]
    return sl.Variant(
        external_id=str(row["external_id"]),
        sku=row.get("sku"),
        weight_in_grams=float(weight) if weight is not None else None,
        position=int(row["position"]) if row.get("position") is not None else None,
        cart_image_url=row.get("cart_image_url"),
        options=options or None,
        status=row.get("status") or "live",
        rrp=rrp or None,
        settings=settings or None,
    ).to_body()


def stock_bodies(stock: pd.DataFrame | None) -> Iterator[tuple[str, dict[str, Any]]]:
    for row in rows(stock):
        restock = row.get("restock_date")
        minimum = row.get("min_stock_level")
        body = sl.StockLevel(
            sku=row["sku"],
            stock_location_external_id=str(row["location_external_id"]),
            stock_level=int(row["stock_level"]),
            restock_date=restock.date() if isinstance(restock, datetime) else restock,
            min_stock_level=int(minimum) if minimum is not None else None,
        )
        yield body.key, body.to_body()


def zero_stock_body(key: str) -> dict[str, Any]:
    """The stock level of a SKU the platform no longer reports (its product was deleted): none left.
    `key` is the stock body's key, `sku@location`."""
    sku, _, location = key.rpartition("@")
    return sl.StockLevel(sku=sku, stock_location_external_id=location, stock_level=0).to_body()


PRICE_LIST_KEY = "price_list_slug"
"""In a price body for a list other than the platform's own: which list it is written to."""


def pricing_bodies(prices: pd.DataFrame | None, price_list_slug: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """One body per SKU and price list with every quantity break of that SKU on that list. On the platform's
    own list (`price_list_slug`) the key is the SKU; on a further list (a B2B catalog's) it is `sku@slug` and
    the body names the list (`PRICE_LIST_KEY`)."""
    breaks: dict[tuple[str, str], dict[int, Decimal]] = defaultdict(dict)
    for row in rows(prices):
        slug = row.get("price_list_slug") or price_list_slug
        breaks[(slug, row["sku"])][int(row.get("quantity") or 1)] = _decimal(row["price"])
    for (slug, sku), by_quantity in breaks.items():
        pricing = [sl.PriceBreak(quantity=q, price=p) for q, p in sorted(by_quantity.items())]
        body = sl.SkuPricing(sku=sku, pricing=pricing).to_body()
        if slug == price_list_slug:
            yield sku, body
        else:
            yield f"{sku}@{slug}", {**body, PRICE_LIST_KEY: slug}


def _decimal(value: Any) -> Decimal:
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"price {value!r} is not a number") from None


# canonical address field -> SparkLayer's
ADDRESS_FIELDS = {"external_id": "external_id", "first_name": "first_name", "last_name": "last_name",
                  "company_name": "company", "line_1": "address_line1", "line_2": "address_line2", "city": "city",
                  "region": "region_code", "postcode": "postcode", "country_code": "country_code", "phone": "phone"}


def address_body(address: Mapping[str, Any]) -> sl.Address:
    """A canonical address (model.Address fields) as SparkLayer takes it; ValidationError when SparkLayer
    would refuse it (no line 1, no country)."""
    return sl.Address(**{ADDRESS_FIELDS[k]: v for k, v in address.items() if k in ADDRESS_FIELDS and v not in (None, "")})


def customer_bodies(customers: pd.DataFrame | None) -> tuple[list[tuple[str, dict[str, Any]]], list[SyncError]]:
    """For each valid customer, the fields the platform owns (the client keeps the rest as the merchant set
    them in SparkLayer); errors for the rest."""
    bodies, errors = [], []
    for row in rows(customers):
        external_id = str(row["external_id"])
        problem = _customer_problem(row)
        if problem:
            errors.append(SyncError(f"customer:{external_id}", "customer", problem[0], problem[1], visible_id=row.get("email")))
            continue
        addresses = []
        for index, address in enumerate(row.get("addresses") or []):
            try:
                addresses.append(address_body(address))
            except ValidationError:
                errors.append(_address_error(external_id, index, address, row.get("email")))
        try:
            body = sl.Customer(
                external_id=external_id,
                email=row["email"],
                first_name=row["first_name"],
                last_name=row["last_name"],
                company_name=row.get("company_name"),
                group=row.get("group"),
                accounting_id=row.get("accounting_id"),
                title=row.get("title"),
                tax_exempt=row.get("tax_exempt"),
                price_lists=row.get("price_lists"),
                payment_on_account=row.get("payment_on_account"),
                discount_percentage=row.get("discount_percentage"),
                parent_customer_id=row.get("parent_customer_id"),
                addresses=addresses,
            ).to_body()
        except ValidationError as exc:
            errors.append(SyncError(
                f"customer:{external_id}", "customer", f"Customer {row.get('email')} cannot be sent: {_first_error(exc)}.",
                "Correct the customer's details in the store; the next sync sends it again.", visible_id=row.get("email"),
            ))
            continue
        bodies.append((external_id, body))
        errors += [SyncError(p["external_id"], "customer", p["message"], p["resolution"], visible_id=p.get("visible_id"))
                   for p in row.get("problems") or []]  # fields left to SparkLayer; the customer is sent
    # SparkLayer refuses a customer whose parent it does not have: parents are written first
    bodies.sort(key=lambda pair: pair[1].get("parent_customer_id") is not None)
    return bodies, errors


def _customer_problem(row: Mapping[str, Any]) -> tuple[str, str] | None:
    who = row.get("email") or row["external_id"]
    if not row.get("email"):
        return (f"Customer {who} has no email address.", "Add an email address to the customer in the store.")
    missing = [label for key, label in (("first_name", "first name"), ("last_name", "last name")) if not row.get(key)]
    if missing:
        return (f"Customer {who} has no {' or '.join(missing)}.", f"Add the customer's {' and '.join(missing)} in the store.")
    return None


def _address_error(customer_id: str, index: int, address: Mapping[str, Any], email: str | None) -> SyncError:
    key = address.get("external_id") or str(index + 1)
    if not address.get("line_1"):
        message = f"Address {key} of customer {email} has an empty line 1."
        resolution = "Fill in line 1 of the address in the store."
    elif not address.get("country_code"):
        message, resolution = f"Address {key} of customer {email} has no country.", "Set the country of the address in the store."
    else:
        message, resolution = f"Address {key} of customer {email} is incomplete.", "Check the address in the store."
    return SyncError(f"customer:{customer_id}:address:{key}", "customer_address", message, resolution, visible_id=email)


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error.get("loc", ()))
    return f"{where}: {error.get('msg')}" if where else str(error.get("msg"))


def problem_errors(problems: pd.DataFrame | None) -> dict[str, list[SyncError]]:
    """Problems the platform mapping found, by sync-log data type."""
    out: dict[str, list[SyncError]] = defaultdict(list)
    for row in rows(problems):
        out[row.get("data_type") or "products"].append(
            SyncError(row["external_id"], row["entity"], row["message"], row.get("resolution"), row.get("visible_id"),
                      row.get("external_url"))
        )
    return out


def unique_errors(errors: Iterable[SyncError]) -> list[SyncError]:
    """The last error per external id: SparkLayer refuses an id twice in one log."""
    by_id = {e.external_id: e for e in errors}
    return list(by_id.values())
