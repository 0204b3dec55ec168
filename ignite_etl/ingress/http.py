"""The checks every ingress endpoint shares: the bearer token, a bounded body, JSON, path values.

A failed check raises `Problem`, which the app answers as RFC 7807 (ignite_etl/problem.py).
"""

from __future__ import annotations

import hmac
import json
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ignite_etl.problem import problem
from ignite_etl.store.connections import SITE_ENVS, connection_id_for

_SITE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class Problem(Exception):
    """An answer of the RFC 7807 kind, raised where the problem is found."""

    def __init__(self, status: int, detail: str, *, errors: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status, self.detail, self.errors, self.headers = status, detail, errors, headers

    def response(self) -> Response:
        return problem(self.status, self.detail, errors=self.errors, headers=self.headers)


def field_error(prop: str, message: str, code: str = "invalid") -> dict[str, str]:
    return {"code": code, "message": message, "property": prop}


async def problem_handler(request: Request, exc: Problem) -> Response:
    return exc.response()


def require_bearer(request: Request) -> None:
    """SparkLayer's calls carry `Authorization: Bearer $IGNITE_INGRESS_TOKEN`, compared in constant time."""
    expected = request.app.state.config.ingress_token.encode()
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected):
        raise Problem(401, "Missing or wrong bearer token: send Authorization: Bearer <IGNITE_INGRESS_TOKEN>.",
                      headers={"WWW-Authenticate": "Bearer"})


async def read_body(request: Request) -> bytes:
    """The body, refusing (413) one larger than the configured limit before reading it all."""
    limit = request.app.state.config.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            too_big = int(declared) > limit
        except ValueError:
            raise Problem(400, "The Content-Length header is not a number.") from None
        if too_big:
            raise _too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> Problem:
    return Problem(413, f"The request body is larger than the ingress accepts ({limit} bytes).")


async def read_json_object(request: Request, *, optional: bool = False) -> dict[str, Any] | None:
    """The body as a JSON object; an empty body is None when `optional`."""
    raw = await read_body(request)
    if not raw.strip():
        if optional:
            return None
        raise Problem(400, "The request needs a JSON object body.")
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise Problem(400, "The request body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise Problem(400, f"The request body must be a JSON object, not {type(value).__name__}.")
    return value


def site_connection_id(request: Request) -> str:
    """`{siteEnv}-{siteId}` from the path, after checking both."""
    site_env, site_id = request.path_params["site_env"], request.path_params["site_id"]
    errors = []
    if site_env not in SITE_ENVS:
        errors.append(field_error("siteEnv", f"siteEnv must be one of {', '.join(SITE_ENVS)}, not {site_env!r}"))
    if not _SITE_ID.match(site_id):
        errors.append(field_error("siteId", "siteId must be 1-100 letters, digits, '.', '_' or '-'"))
    if errors:
        raise Problem(400, "The path names no valid SparkLayer site.", errors=errors)
    return connection_id_for(site_env, site_id)


def choice(request: Request, name: str, prop: str, allowed: tuple[str, ...]) -> str:
    value = request.path_params[name]
    if value not in allowed:
        raise Problem(400, f"Unknown {prop} {value!r}.",
                      errors=[field_error(prop, f"{prop} must be one of {', '.join(allowed)}")])
    return value
