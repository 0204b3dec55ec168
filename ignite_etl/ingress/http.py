"""The checks every ingress endpoint shares: the bearer token, a bounded body, JSON, path values.

A failed check raises `Problem`, which the app answers as RFC 7807 (ignite_etl/problem.py).
"""

from __future__ import annotations

import asyncio
import hmac
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ignite_etl.problem import problem
from ignite_etl.store.connections import SITE_ENVS, connection_id_for, site_id_problem

MAX_JSON_DEPTH = 32
"""The deepest nesting a JSON body may have; SparkLayer's bodies nest four levels at most."""


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
    try:
        async with asyncio.timeout(request.app.state.config.body_timeout_seconds):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise _too_large(limit)
                chunks.append(chunk)
    except TimeoutError:
        raise Problem(408, "The request body did not arrive in time; send it again.",
                      headers={"Connection": "close"}) from None
    return b"".join(chunks)


def _too_large(limit: int) -> Problem:
    return Problem(413, f"The request body is larger than the ingress accepts ({limit} bytes).")


async def read_json_object(request: Request, *, optional: bool = False) -> dict[str, Any] | None:
    """The body as a JSON object (sent as application/json); an empty body is None when `optional`."""
    raw = await read_body(request)
    if not raw.strip():
        if optional:
            return None
        raise Problem(400, "The request needs a JSON object body.")
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise Problem(415, "Send the body as JSON with Content-Type: application/json.")
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise Problem(400, "The request body is not valid JSON.") from None
    except RecursionError:
        raise Problem(400, f"The request body nests deeper than {MAX_JSON_DEPTH} levels.") from None
    if not isinstance(value, dict):
        raise Problem(400, f"The request body must be a JSON object, not {type(value).__name__}.")
    _check_values(value)
    return value


def _check_values(document: Any) -> None:
    """Refuse what no field we store can hold: nesting past MAX_JSON_DEPTH and NUL characters (Postgres
    text cannot hold them). Walked without recursion."""
    stack = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise Problem(400, f"The request body nests deeper than {MAX_JSON_DEPTH} levels.")
        if isinstance(value, str):
            if "\x00" in value:
                raise Problem(400, "The request body contains a NUL character (\\u0000), which no field accepts.")
        elif isinstance(value, dict):
            stack.extend((item, depth + 1) for pair in value.items() for item in pair)
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)


def site_connection_id(request: Request) -> str:
    """`{siteEnv}-{siteId}` from the path, after checking both."""
    site_env, site_id = request.path_params["site_env"], request.path_params["site_id"]
    errors = []
    if site_env not in SITE_ENVS:
        errors.append(field_error("siteEnv", f"siteEnv must be one of {', '.join(SITE_ENVS)}, not {site_env!r}"))
    if problem := site_id_problem(site_id):
        errors.append(field_error("siteId", problem))
    if errors:
        raise Problem(400, "The path names no valid SparkLayer site.", errors=errors)
    return connection_id_for(site_env, site_id)


def choice(request: Request, name: str, prop: str, allowed: tuple[str, ...]) -> str:
    value = request.path_params[name]
    if value not in allowed:
        raise Problem(400, f"Unknown {prop} {value!r}.",
                      errors=[field_error(prop, f"{prop} must be one of {', '.join(allowed)}")])
    return value
