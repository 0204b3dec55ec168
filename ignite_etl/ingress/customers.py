"""The Ignite endpoints SparkLayer calls for a platform's customers (`sparklayer-api.md` §10): create or
update a customer on the platform (`PUT …/customers`) and verify a platform customer session
(`POST …/authentication/verify`). Each is routed through the registry to the connection's platform; a
platform that keeps no customers answers 501 with a sentence saying so."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ignite_etl.ingress.http import Problem, field_error, read_json_object, require_bearer, site_connection_id
from ignite_etl.ingress.platform_calls import on_platform
from ignite_etl.model import CustomerRequest
from ignite_etl.platforms import (
    InvalidConfiguration,
    InvalidCredentials,
    InvalidSession,
    NotSupported,
    Platform,
    PlatformError,
    PlatformSpec,
    PlatformUnavailable,
    platform_spec,
)
from ignite_etl.store import connecting

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_SESSION_TOKEN = 8192


async def upsert_customer(request: Request) -> Response:
    require_bearer(request)
    connection_id = site_connection_id(request)
    body = await read_json_object(request) or {}
    spec, access = await _customer_platform(request, connection_id)
    try:
        customer = CustomerRequest.model_validate(body)
    except ValidationError as exc:
        raise Problem(400, "The customer has invalid fields; nothing was sent to the platform.",
                      errors=[field_error(".".join(str(p) for p in e["loc"]) or "body", e["msg"], e["type"])
                              for e in exc.errors()]) from None
    external_id = await _call(request, spec, access, lambda platform: platform.upsert_customer(customer))
    log.info("customer upsert %s: %s", connection_id, external_id)
    return JSONResponse({"customer_external_id": external_id}, status_code=201)


async def verify_customer_session(request: Request) -> Response:
    require_bearer(request)
    connection_id = site_connection_id(request)
    body = await read_json_object(request) or {}
    token = body.get("token")
    if not isinstance(token, str) or not token.strip() or len(token) > MAX_SESSION_TOKEN:
        raise Problem(400, "The request needs the platform's session token as a string.",
                      errors=[field_error("token", f"token must be a non-empty string of at most {MAX_SESSION_TOKEN} "
                                                   "characters", "required")])
    spec, access = await _customer_platform(request, connection_id)
    external_id = await _call(request, spec, access, lambda platform: platform.verify_customer_session(token))
    return JSONResponse({"customer_external_id": external_id})


async def _customer_platform(request: Request, connection_id: str) -> tuple[PlatformSpec, connecting.PlatformAccess]:
    async with request.app.state.db.connection() as conn:
        access = await connecting.platform_access(conn, request.app.state.cipher, connection_id)
    if access is None or access.status == "removing":
        raise Problem(404, f"There is no connection {connection_id}: it was never connected or has been removed.")
    if not access.platform:  # SparkLayer's call named no platform, and the merchant has not chosen one yet
        raise Problem(409, f"Connection {connection_id} is not complete yet: the merchant has to finish connecting "
                           "the store first.")
    spec = platform_spec(access.platform)
    if not spec.has_customers:
        raise Problem(501, f"{spec.display_name} keeps no customers SparkLayer can create or sign in: customers of "
                           "this site are managed in SparkLayer only.")
    if access.status != "connected":
        raise Problem(409, f"Connection {connection_id} is not complete yet: the merchant has to finish connecting "
                           "the store first.")
    return spec, access


async def _call(request: Request, spec: PlatformSpec, access: connecting.PlatformAccess,
                work: Callable[[Platform], T]) -> T:
    """One call to the platform, its failures as problems SparkLayer can act on."""
    try:
        return await on_platform(request, spec, spec.settings.stored(access.config, access.secrets), work)
    except NotSupported as exc:
        raise Problem(501, str(exc)) from None
    except InvalidSession:
        raise Problem(401, f"The token is not a valid customer session of the {spec.display_name} store.") from None
    except InvalidCredentials as exc:
        raise Problem(502, f"{spec.display_name} refused: {exc}") from None
    except InvalidConfiguration as exc:  # ours to mend, not SparkLayer's: the operator reads the log
        log.error("%s customer call: %s", spec.display_name, exc)
        raise Problem(500, f"This integration is not set up to call {spec.display_name} for customers: {exc}") from None
    except PlatformUnavailable:
        raise Problem(503, f"{spec.display_name} did not answer; try again shortly.",
                      headers={"Retry-After": "30"}) from None
    except PlatformError as exc:
        raise Problem(422, f"{spec.display_name} refused the customer: {exc}") from None


customer_routes = [
    Route("/v1/{site_env}/{site_id}/customers", upsert_customer, methods=["PUT"]),
    Route("/v1/{site_env}/{site_id}/authentication/verify", verify_customer_session, methods=["POST"]),
]
