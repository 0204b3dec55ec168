"""Simulated products, variants, stock and pricing endpoints."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.responses import JSONResponse, Response

from ignite_etl.problem import problem
from ignite_etl.sandbox.sparklayer.calls import Call, Refused, refuse
from ignite_etl.sandbox.sparklayer.schemas import (
    PriceListIn,
    ProductIn,
    ProductPatchIn,
    SkuPricingIn,
    StockIn,
    StockLocationIn,
    VariantIn,
    VariantPatchIn,
    parse,
    pricing_problems_of,
)
from ignite_etl.sandbox.sparklayer.state import new_id

MAX_PRICE_LIST_PAGE_SIZE = 250


def create_product(call: Call) -> Response:
    body: ProductIn = call.body(ProductIn)
    site = call.site
    _refuse_rejected(call, [body.external_id] + [v.external_id for v in body.variants])
    if body.external_id in site.products:
        raise refuse(409, f"A product with external_id {body.external_id!r} already exists.", code="duplicate",
                     prop="external_id")
    _check_new_variants(call, body.variants, product_external_id=None)
    product = {"id": new_id("pp_"), "external_id": body.external_id, "title": body.title, "slug": body.slug,
               "created_at": call.now.isoformat(), "updated_at": call.now.isoformat(), "variant_external_ids": []}
    site.products[body.external_id] = product
    for variant in body.variants:
        _store_variant(call, product, variant)
    return JSONResponse(_product_view(call, product), status_code=201)


def update_product(call: Call) -> Response:
    product = call.site.find_product(call.path_params["id"])
    if product is None:
        raise refuse(404, f"No product {call.path_params['id']!r}.")
    body: ProductPatchIn = call.body(ProductPatchIn)
    _refuse_rejected(call, [product["external_id"]] + [v.external_id for v in body.variants or []])
    if body.variants:
        _check_new_variants(call, body.variants, product_external_id=product["external_id"])
    for name in ("title", "slug"):
        if getattr(body, name) is not None:
            product[name] = getattr(body, name)
    for variant in body.variants or []:
        _store_variant(call, product, variant)
    product["updated_at"] = call.now.isoformat()
    return JSONResponse(_product_view(call, product))


def update_variant(call: Call) -> Response:
    variant = call.site.find_variant(call.path_params["id"])
    if variant is None:
        raise refuse(404, f"No product variant {call.path_params['id']!r}.")
    body: VariantPatchIn = call.body(VariantPatchIn)
    _refuse_rejected(call, [variant["external_id"]])
    variant.update(body.model_dump(mode="json", exclude_unset=True))
    variant["updated_at"] = call.now.isoformat()
    return JSONResponse(variant)


def batch_update_stock(call: Call) -> Response:
    items: list[StockIn] = call.body(list[StockIn])
    site = call.site
    problems = []
    seen: set[tuple[str, str]] = set()
    for index, item in enumerate(items):
        if (item.stock_location_id is None) == (item.stock_location_external_id is None):
            problems.append((index, "stock_location_external_id",
                             "Give exactly one of stock_location_id and stock_location_external_id."))
            continue
        location = item.stock_location_external_id or item.stock_location_id or ""
        found = site.find_stock_location(location)
        if found is None:
            problems.append((index, "stock_location_external_id", f"Unknown stock location {location!r}."))
        else:
            location = found["external_id"]
        if (item.sku, location) in seen:
            problems.append((index, "sku", f"The sku {item.sku!r} and location {location!r} appear more than once."))
        seen.add((item.sku, location))
        if item.sku in call.rejected_records:
            problems.append((index, "sku", call.rejected_records[item.sku]))
    if problems:
        errors = [{"code": "invalid", "message": m, "property": f"[{i}].{f}"} for i, f, m in problems]
        raise Refused(problem(400, "Some stock levels were refused; nothing was written.", errors=errors))
    for item in items:
        found = site.find_stock_location(item.stock_location_external_id or item.stock_location_id or "")
        assert found is not None  # every item was checked above
        location = found["external_id"]
        stored = item.model_dump(mode="json", exclude_none=True) | {"stock_location_external_id": location}
        stored.pop("stock_location_id", None)
        site.stock[(item.sku, location)] = stored
    return JSONResponse({"updated": len(items)})


def create_stock_location(call: Call) -> Response:
    body: StockLocationIn = call.body(StockLocationIn)
    if body.external_id in call.site.stock_locations:
        raise refuse(409, f"A stock location with external_id {body.external_id!r} already exists.",
                     code="duplicate", prop="external_id")
    location = body.model_dump(mode="json") | {"id": new_id(), "created_at": call.now.isoformat()}
    call.site.stock_locations[body.external_id] = location
    return JSONResponse(location, status_code=201)


def create_price_list(call: Call) -> Response:
    body: PriceListIn = call.body(PriceListIn)
    site = call.site
    if body.slug in site.price_lists:
        raise refuse(400, f"A price list with slug {body.slug!r} already exists.", code="slug-exists", prop="slug")
    for index, rule in enumerate(body.rules):
        if rule.source_price_list_slug not in site.price_lists:
            raise refuse(400, f"Unknown source price list {rule.source_price_list_slug!r}.",
                         prop=f"rules[{index}].source_price_list_slug")
    site.price_lists[body.slug] = body.model_dump(mode="json") | {"created_at": call.now.isoformat()}
    site.pricing[body.slug] = {}
    return JSONResponse(site.price_lists[body.slug], status_code=201)


def list_price_lists(call: Call) -> Response:
    try:
        page = int(call.query.get("page", "1"))
        page_size = int(call.query.get("page_size", "50"))
    except ValueError:
        raise refuse(400, "page and page_size must be integers.") from None
    if page < 1 or not 1 <= page_size <= MAX_PRICE_LIST_PAGE_SIZE:
        raise refuse(400, f"page must be >= 1 and page_size between 1 and {MAX_PRICE_LIST_PAGE_SIZE}.")
    lists = sorted(call.site.price_lists.values(), key=lambda p: p["slug"])
    total_pages = max(1, -(-len(lists) // page_size))
    data = lists[(page - 1) * page_size : page * page_size]
    return JSONResponse({"data": data, "pagination": {"current_page": page, "total_pages": total_pages,
                                                      "page_size": page_size, "total": len(lists)}})


def update_pricing(call: Call) -> Response:
    slug = call.path_params["slug"]
    if slug not in call.site.price_lists:
        raise refuse(404, f"No price list {slug!r}.")
    if not call.raw_body:
        raise Refused(JSONResponse([{"line": None, "field": "", "message": "The request needs a body."}], status_code=400))
    try:
        items: list[SkuPricingIn] = parse(list[SkuPricingIn], call.raw_body)
    except ValidationError as exc:
        raise Refused(JSONResponse(pricing_problems_of(exc), status_code=400)) from None
    problems = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        if item.sku in seen:
            problems.append({"line": index + 1, "field": "sku", "message": f"The sku {item.sku!r} appears more than once."})
        seen.add(item.sku)
        if item.sku in call.rejected_records:
            problems.append({"line": index + 1, "field": "sku", "message": call.rejected_records[item.sku]})
    if problems:
        raise Refused(JSONResponse(problems, status_code=400))
    prices = call.site.pricing[slug]
    for item in items:
        prices[item.sku] = [b.model_dump(mode="json", exclude_none=True) for b in item.pricing]
    return Response(status_code=204)


def _check_new_variants(call: Call, variants: list[VariantIn], product_external_id: str | None) -> None:
    ids = [v.external_id for v in variants]
    if len(ids) != len(set(ids)):
        raise refuse(400, "A variant external_id appears more than once.", code="duplicate", prop="variants")
    for index, variant in enumerate(variants):
        owner = call.site.variants.get(variant.external_id)
        if owner is not None and owner["product_external_id"] != product_external_id:
            raise refuse(409, f"Variant external_id {variant.external_id!r} belongs to another product.",
                         code="duplicate", prop=f"variants[{index}].external_id")


def _store_variant(call: Call, product: dict[str, Any], variant: VariantIn) -> None:
    existing = call.site.variants.get(variant.external_id)
    stored = variant.model_dump(mode="json", exclude_none=True) | {
        "id": existing["id"] if existing else new_id("pv_"),
        "product_id": product["id"],
        "product_external_id": product["external_id"],
        "created_at": existing["created_at"] if existing else call.now.isoformat(),
        "updated_at": call.now.isoformat(),
    }
    call.site.variants[variant.external_id] = stored
    if variant.external_id not in product["variant_external_ids"]:
        product["variant_external_ids"].append(variant.external_id)


def _product_view(call: Call, product: dict[str, Any]) -> dict[str, Any]:
    view = {k: v for k, v in product.items() if k != "variant_external_ids"}
    view["variants"] = [call.site.variants[i] for i in product["variant_external_ids"]]
    return view


def _refuse_rejected(call: Call, keys: list[str]) -> None:
    for key in keys:
        if key in call.rejected_records:
            raise refuse(400, call.rejected_records[key], code="rejected", prop="external_id")
