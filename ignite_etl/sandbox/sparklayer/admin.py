"""`/_sandbox/`: the simulator's controls and views over HTTP, for demos and tools that are not Python."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ignite_etl.problem import problem

if TYPE_CHECKING:
    from ignite_etl.sandbox.sparklayer.sandbox import SparkLayerSandbox


def admin_routes(sandbox: SparkLayerSandbox) -> list[Route]:
    async def add_site(request: Request) -> Response:
        body = await _json(request)
        try:
            sandbox.add_site(
                body["env"], body["site_id"], body["client_id"], body["client_secret"],
                customer_groups=body.get("customer_groups"),
                settings_api_allowed=body.get("settings_api_allowed", True),
            )
        except (KeyError, ValueError, TypeError) as exc:
            return problem(400, f"A site needs env, site_id, client_id and client_secret ({exc}).")
        return JSONResponse({"env": body["env"], "site_id": body["site_id"]}, status_code=201)

    async def site_state(request: Request) -> Response:
        try:
            return JSONResponse(sandbox.state(request.path_params["env"], request.path_params["site_id"]))
        except KeyError as exc:
            return problem(404, str(exc))

    async def journal(request: Request) -> Response:
        if request.method == "DELETE":
            sandbox.clear_journal()
            return Response(status_code=204)
        q = request.query_params
        entries = sandbox.journal(env=q.get("env"), site_id=q.get("site_id"), path_contains=q.get("path_contains"))
        return JSONResponse([e.to_json() for e in entries])

    async def faults(request: Request) -> Response:
        if request.method == "PUT":
            body = await _json(request)
            fail_next = body.pop("fail_next", None)
            outage = body.pop("outage_seconds", None)
            rejected = body.pop("rejected_records", None) or {}
            try:
                sandbox.set_faults(**body)
            except TypeError as exc:
                return problem(400, f"Unknown fault setting ({exc}).")
            if fail_next:
                sandbox.fail_next(fail_next["count"], fail_next.get("status", 503), path_contains=fail_next.get("path_contains"))
            if outage:
                sandbox.start_outage(float(outage))
            for key, message in rejected.items():
                sandbox.reject_record(key, message)
        return JSONResponse(sandbox.faults.public())

    async def rate_limit(request: Request) -> Response:
        body = await _json(request)
        sandbox.set_rate_limit(body.get("requests"), float(body.get("window_seconds", 1.0)))
        return JSONResponse({"requests": body.get("requests"), "window_seconds": body.get("window_seconds", 1.0)})

    async def token_lifetime(request: Request) -> Response:
        body = await _json(request)
        sandbox.set_token_lifetime(int(body["seconds"]))
        return JSONResponse({"seconds": sandbox.token_lifetime})

    async def reset(request: Request) -> Response:
        sandbox.reset()
        return Response(status_code=204)

    return [
        Route("/_sandbox/sites", add_site, methods=["POST"]),
        Route("/_sandbox/sites/{env}/{site_id}", site_state, methods=["GET"]),
        Route("/_sandbox/journal", journal, methods=["GET", "DELETE"]),
        Route("/_sandbox/faults", faults, methods=["GET", "PUT"]),
        Route("/_sandbox/rate-limit", rate_limit, methods=["PUT"]),
        Route("/_sandbox/token-lifetime", token_lifetime, methods=["PUT"]),
        Route("/_sandbox/reset", reset, methods=["POST"]),
    ]


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
