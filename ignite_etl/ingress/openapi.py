"""The ingress described as OpenAPI 3.1, served at `/openapi.json`: every route, what it takes and every
status it answers with, errors as RFC 7807 problems. Property-based tests (schemathesis) hold the ingress
to it."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ignite_etl import __version__
from ignite_etl.ingress.connections import TRIGGER_SYNC_DATA_TYPES
from ignite_etl.ingress.entities import ENTITY_SYNC_DATA_TYPES
from ignite_etl.store.connections import SITE_ENVS

PROBLEM = "application/problem+json"
_SITE_ID = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"}
_SITE = [
    {"name": "site_env", "in": "path", "required": True, "schema": {"type": "string", "enum": list(SITE_ENVS)}},
    {"name": "site_id", "in": "path", "required": True, "schema": _SITE_ID},
]
_BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
_JSON_OBJECT = {"type": "object"}


def _problems(*statuses: int) -> dict[str, Any]:
    return {str(s): {"description": "A problem (RFC 7807)",
                     "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}} for s in statuses}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _html(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


def _html_or_problem(description: str) -> dict[str, Any]:
    """A page for the merchant, or a problem when the request never reached the page (a bad URL, no database)."""
    answer = _html(description)
    answer["content"][PROBLEM] = {"schema": {"$ref": "#/components/schemas/Problem"}}
    return answer


def _body(schema: dict[str, Any], *, required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


# Every route can answer these: a control character in the URL (400), the database not answering (503),
# an unexpected failure (500, never expected: the property-based tests assert there is none).
_ANY = (400, 500, 503)
_BODY = (413, 415, 408)


def document() -> dict[str, Any]:
    connect_request = {
        "type": "object", "required": ["spark_api_client_id", "spark_api_client_secret"],
        "properties": {
            "spark_api_client_id": {"type": "string", "minLength": 1, "maxLength": 2000},
            "spark_api_client_secret": {"type": "string", "minLength": 1, "maxLength": 2000},
            "store_id": {"type": ["string", "integer", "null"]},
            "extra_config": {"type": ["object", "null"], "description": "The platform's settings; `platform` names it"},
        },
    }
    webhook_answer = {"type": "object", "required": ["queued"],
                      "properties": {"queued": {"type": "boolean"}, "reason": {"type": "string"},
                                     "removal": {"type": "boolean"}}}
    paths: dict[str, Any] = {
        "/healthz": {"get": {
            "summary": "Whether the ingress can reach its database",
            "responses": {"200": _json({"type": "object", "required": ["status"]}, "Healthy"), **_problems(*_ANY)},
        }},
        "/openapi.json": {"get": {"summary": "This document", "responses": {"200": _json(_JSON_OBJECT, "OpenAPI 3.1"),
                                                                             **_problems(*_ANY)}}},
        "/v1/{site_env}/{site_id}": {
            "parameters": _SITE,
            "post": {
                "summary": "SparkLayer connects a site to a platform store", "security": _BEARER,
                "requestBody": _body(connect_request),
                "responses": {"200": _json({"type": "object", "required": ["connection_id", "status"],
                                            "properties": {"connection_id": {"type": "string"},
                                                           "status": {"enum": ["connected", "pending"]},
                                                           "redirect_url": {"type": ["string", "null"]}}},
                                           "Connected, or pending the merchant's connect page"),
                              **_problems(*_ANY, *_BODY, 401, 409)},
            },
            "delete": {
                "summary": "SparkLayer removes the connection", "security": _BEARER,
                "responses": {"204": {"description": "Removal queued"}, **_problems(*_ANY, *_BODY, 401, 404)},
            },
        },
        "/v1/{site_env}/{site_id}/status/{sync_data_type}": {
            "parameters": [*_SITE, {"name": "sync_data_type", "in": "path", "required": True,
                                    "schema": {"type": "string", "enum": list(TRIGGER_SYNC_DATA_TYPES)}}],
            "post": {
                "summary": "SparkLayer asks for a sync", "security": _BEARER,
                "responses": {"201": _json({"type": "object", "required": ["status", "request_id"]}, "Queued"),
                              **_problems(*_ANY, *_BODY, 401, 404, 409)},
            },
        },
        "/v1/{site_env}/{site_id}/customers": {
            "parameters": _SITE,
            "put": {
                "summary": "SparkLayer creates or updates a customer on the platform", "security": _BEARER,
                "requestBody": _body(_JSON_OBJECT),
                "responses": {"201": _json({"type": "object", "required": ["customer_external_id"]}, "Created or updated"),
                              **_problems(*_ANY, *_BODY, 401, 404, 409, 422, 501, 502)},
            },
        },
        "/v1/{site_env}/{site_id}/authentication/verify": {
            "parameters": _SITE,
            "post": {
                "summary": "SparkLayer verifies a platform customer session", "security": _BEARER,
                "requestBody": _body({"type": "object", "required": ["token"],
                                      "properties": {"token": {"type": "string", "minLength": 1, "maxLength": 8192}}}),
                "responses": {"200": _json({"type": "object", "required": ["customer_external_id"]}, "The customer"),
                              **_problems(*_ANY, *_BODY, 401, 404, 409, 422, 501, 502)},
            },
        },
        "/v1/{site_env}/{site_id}/sync/{sync_data_type}": {
            "parameters": [*_SITE, {"name": "sync_data_type", "in": "path", "required": True,
                                    "schema": {"type": "string", "enum": list(ENTITY_SYNC_DATA_TYPES)}}],
            "get": {
                "summary": "SparkLayer lists the last extracted entities, a page at a time", "security": _BEARER,
                "parameters": [{"name": "page", "in": "query", "required": False,
                                "schema": {"type": ["string", "null"], "pattern": "^[0-9]{1,8}$"}}],
                "responses": {"200": _json({"type": "object", "required": ["data", "next_page"],
                                            "properties": {"data": {"type": "array"},
                                                           "next_page": {"type": ["string", "null"]}}}, "A page"),
                              **_problems(*_ANY, 401, 404)},
            },
        },
        "/v1/{site_env}/{site_id}/sync/{sync_data_type}/{entity_id}": {
            "parameters": [*_SITE, {"name": "sync_data_type", "in": "path", "required": True,
                                    "schema": {"type": "string", "enum": list(ENTITY_SYNC_DATA_TYPES)}},
                           {"name": "entity_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "post": {
                "summary": "SparkLayer fetches one extracted entity", "security": _BEARER,
                "requestBody": _body({"type": "object", "properties": {"payload": {"type": ["string", "null"]}}},
                                     required=False),
                "responses": {"200": _json({"type": "object", "required": ["data"]}, "The entity"),
                              **_problems(*_ANY, *_BODY, 401, 404)},
            },
        },
        "/webhooks/{platform}/privacy": {
            "parameters": [{"name": "platform", "in": "path", "required": True, "schema": {"type": "string"}}],
            "post": {
                "summary": "A platform's privacy request (a customer's data or redaction, a store's redaction), "
                           "signed with the app's credentials",
                "requestBody": _body(_JSON_OBJECT),
                "responses": {"200": _json({"type": "object", "required": ["recorded"]}, "Recorded and done"),
                              **_problems(*_ANY, *_BODY, 401, 404)},
            },
        },
        "/webhooks/{platform}/{connection_id}": {
            "parameters": [{"name": "platform", "in": "path", "required": True, "schema": {"type": "string"}},
                           {"name": "connection_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "post": {
                "summary": "A platform's signed webhook delivery; answered once the change is durably queued",
                "requestBody": _body(_JSON_OBJECT),
                "responses": {"200": _json(webhook_answer, "Signed and valid, nothing to queue (a duplicate, or an "
                                                           "event we do not sync)"),
                              "202": _json(webhook_answer, "Queued"),
                              **_problems(*_ANY, *_BODY, 401, 404)},
            },
        },
        "/connect/{token}": {
            "parameters": [{"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}],
            "get": {"summary": "The merchant's connect page",
                    "responses": {"200": _html("The form"), **_problems(*_ANY, 404)}},
            "post": {
                "summary": "The merchant submits the connect form",
                "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {
                    "schema": {"type": "object", "additionalProperties": {"type": "string"}}}}},
                "responses": {"200": _html("Connected"), "400": _html_or_problem("A field to correct"),
                              "409": _html("The link is being checked"), "429": _html("The link is used up"),
                              "502": _html("The store could not be reached"),
                              "503": _html_or_problem("Too many checks, or no database"),
                              **_problems(408, 413, 500, 404)},
            },
        },
        **_merchant_pages(),
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "ignite-etl ingress", "version": __version__,
                 "description": "SparkLayer's Ignite calls, platform webhooks and the merchant pages."},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "IGNITE_INGRESS_TOKEN"}},
            "schemas": {"Problem": {
                "type": "object", "required": ["type", "title", "status", "detail"],
                "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                               "detail": {"type": "string"},
                               "errors": {"type": "array", "items": {
                                   "type": "object", "required": ["code", "message", "property"],
                                   "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                                                  "property": {"type": "string"}}}}},
            }},
        },
    }


def _merchant_pages() -> dict[str, Any]:
    """The app-store install and registration pages: each answers a page for the merchant, whatever its
    status, or a redirect to the next step."""
    page = {"default": _html_or_problem("A page saying what happened and what to do")}
    form = {"required": True, "content": {"application/x-www-form-urlencoded": {
        "schema": {"type": "object", "additionalProperties": {"type": "string"}}}}}
    platform = [{"name": "platform", "in": "path", "required": True, "schema": {"type": "string"}}]
    token = [{"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}]
    return {
        "/install/{platform}": {"parameters": platform, "get": {
            "summary": "A platform's app store opens the app: on to the platform's authorisation page",
            "responses": {"302": {"description": "To the platform's authorisation page"}, **page}}},
        "/install/{platform}/callback": {"parameters": platform, "get": {
            "summary": "The platform sends the merchant back with an authorisation code",
            "responses": {"303": {"description": "To registration or onboarding"}, **page}}},
        "/app/{token}/register": {"parameters": token,
                                  "get": {"summary": "The SparkLayer registration form", "responses": page},
                                  "post": {"summary": "The merchant registers", "requestBody": form,
                                           "responses": {"303": {"description": "To onboarding"}, **page}}},
        "/app/{token}/onboarding": {"parameters": token, "get": {"summary": "Where the connection stands",
                                                                   "responses": page}},
    }


async def openapi_json(request: Request) -> Response:
    return JSONResponse(document())
