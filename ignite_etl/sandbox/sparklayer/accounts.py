"""Simulated customers, settings and purchases endpoints (full-replacement semantics)."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from ignite_etl.sandbox.sparklayer.calls import Call, refuse
from ignite_etl.sandbox.sparklayer.schemas import CustomerIn, PurchaseIn, SettingIn
from ignite_etl.sandbox.sparklayer.state import new_id

CUSTOMER_LOOKUPS = {"sparklayer", "platform", "email"}
PURCHASE_LOOKUPS = {"sparklayer", "platform", "internal", "visible"}
PURCHASE_TOTAL_PACKAGES = {"processing", "shipment"}
UPDATABLE_SETTINGS = {"baseCurrency"}
SETTINGS_REFUSED = "Global settings unavailable for updates, please contact support"


def upsert_customer(call: Call) -> Response:
    lookup_by, identifier = _customer_path(call)
    body: CustomerIn = call.body(CustomerIn)
    site = call.site
    stated = {"platform": body.external_id, "email": body.email, "sparklayer": body.id or body.legacy_id}.get(lookup_by)
    if stated != identifier:
        raise refuse(400, f"The body's identifier does not match {identifier!r} in the path.", code="idMismatch")
    if body.external_id is not None and body.external_id in call.rejected_records:
        raise refuse(400, call.rejected_records[body.external_id], code="rejected", prop="external_id")
    if body.group is not None and body.group not in site.customer_groups:
        raise refuse(400, f"Unknown customer group {body.group!r}.", code="invalid", prop="group")
    existing = site.find_customer(lookup_by, identifier)
    own_id = existing["id"] if existing else ((body.id if lookup_by == "sparklayer" else None) or new_id())
    others = [c for c in site.customers.values() if c["id"] != own_id]
    if body.parent_customer_id is not None and not any(
        body.parent_customer_id in (c["id"], c.get("external_id")) for c in others
    ):
        raise refuse(400, f"Unknown parent customer {body.parent_customer_id!r}.", code="invalid", prop="parent_customer_id")
    if any(c["email"].lower() == body.email.lower() for c in others):
        raise refuse(409, "Another customer has this email.", code="duplicate", prop="email")
    if body.external_id is not None and any(c.get("external_id") == body.external_id for c in others):
        raise refuse(409, "Another customer has this external_id.", code="duplicate", prop="external_id")
    address_ids = [a.external_id for a in body.addresses if a.external_id]
    taken = {a.get("external_id") for c in others for a in c.get("addresses", [])}
    if len(address_ids) != len(set(address_ids)) or taken & set(address_ids):
        raise refuse(409, "An address external_id is used twice.", code="duplicate", prop="addresses")
    stored = body.model_dump(mode="json", exclude_none=True) | {
        "id": own_id,
        "created_at": existing["created_at"] if existing else call.now.isoformat(),
        "updated_at": call.now.isoformat(),
    }
    site.customers[own_id] = stored
    return JSONResponse(stored, status_code=200 if existing else 201)


def get_customer(call: Call) -> Response:
    lookup_by, identifier = _customer_path(call)
    customer = call.site.find_customer(lookup_by, identifier)
    if customer is None:
        raise refuse(404, f"No customer {identifier!r}.")
    return JSONResponse(customer)


def delete_customer(call: Call) -> Response:
    lookup_by, identifier = _customer_path(call)
    customer = call.site.find_customer(lookup_by, identifier)
    if customer is None:
        raise refuse(404, f"No customer {identifier!r}.")
    del call.site.customers[customer["id"]]
    return Response(status_code=204)


def list_settings(call: Call) -> Response:
    return JSONResponse([{"key": k, "value": v} for k, v in sorted(call.site.settings.items())])


def patch_settings(call: Call) -> Response:
    if not call.site.settings_api_allowed:
        raise refuse(403, SETTINGS_REFUSED)
    items: list[SettingIn] = call.body(list[SettingIn])
    for index, item in enumerate(items):
        if item.key not in UPDATABLE_SETTINGS:
            raise refuse(400, f"The setting {item.key!r} cannot be updated.", prop=f"[{index}].key")
        if item.key == "baseCurrency" and not (isinstance(item.value, str) and len(item.value) == 3 and item.value.isupper()):
            raise refuse(400, "baseCurrency must be an ISO 4217 code such as 'AUD'.", prop=f"[{index}].value")
    for item in items:
        call.site.settings[item.key] = item.value
    return Response(status_code=204)


def put_purchase(call: Call) -> Response:
    lookup_by, identifier = call.path_params["lookup_by"], call.path_params["identifier"]
    if lookup_by not in PURCHASE_LOOKUPS:
        raise refuse(400, f"lookupBy must be one of {sorted(PURCHASE_LOOKUPS)}.", prop="lookupBy")
    body: PurchaseIn = call.body(PurchaseIn)
    identifiers = body.purchase_identifiers.model_dump(exclude_none=True)
    if identifiers.get(lookup_by) not in (None, identifier):
        raise refuse(400, f"purchase_identifiers.{lookup_by} does not match {identifier!r} in the path.",
                     prop=f"purchase_identifiers.{lookup_by}")
    if any(key in call.rejected_records for key in identifiers.values()):
        raise refuse(400, next(call.rejected_records[k] for k in identifiers.values() if k in call.rejected_records))
    site = call.site
    existing = site.find_purchase(lookup_by, identifier)
    if existing and body.purchase_identifiers.sparklayer not in (None, existing["purchase_identifiers"].get("sparklayer")):
        raise refuse(403, "The purchase's SparkLayer id cannot be changed.")
    own_id = existing["id"] if existing else new_id()
    for key, value in identifiers.items():
        clash = site.find_purchase(key, value)
        if clash is not None and clash["id"] != own_id:
            raise refuse(409, f"Another purchase already has the {key} identifier {value!r}.", prop=f"purchase_identifiers.{key}")
    stored = body.model_dump(mode="json", exclude_none=True)
    stored["purchase_identifiers"] = {lookup_by: identifier} | identifiers
    if not stored["purchase_identifiers"].get("sparklayer"):
        previous = (existing or {}).get("purchase_identifiers", {}).get("sparklayer")
        stored["purchase_identifiers"]["sparklayer"] = previous or new_id("cart_")
    stored |= {"id": own_id, "total": _total(stored), "updated_at": call.now.isoformat()}
    site.purchases[own_id] = stored
    return JSONResponse(stored, status_code=200 if existing else 201)


def _customer_path(call: Call) -> tuple[str, str]:
    lookup_by = call.path_params["lookup_by"]
    if lookup_by not in CUSTOMER_LOOKUPS:
        raise refuse(400, f"lookupBy must be one of {sorted(CUSTOMER_LOOKUPS)}.", code="resource-id-invalid")
    return lookup_by, call.path_params["identifier"]


def _total(purchase: dict[str, Any]) -> float:
    """A calculated field: what the customer pays for goods still processing or shipped."""
    return round(sum(
        item["quantity"] * item["price"]
        for package in purchase["packages"] if package["type"] in PURCHASE_TOTAL_PACKAGES
        for item in package["line_items"]
    ), 2)
