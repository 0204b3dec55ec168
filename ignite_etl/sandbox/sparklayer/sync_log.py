"""The simulated Sync Logging API: full PUT, partial PATCH, reads, and delete-all."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from ignite_etl.sandbox.sparklayer.calls import Call, refuse
from ignite_etl.sandbox.sparklayer.schemas import FullSyncLogIn, PartialSyncLogIn, SyncLogErrorIn

DATA_TYPES = {"products", "customers", "stock", "purchases"}
MAX_ERRORS = 5000


def put_sync_log(call: Call) -> Response:
    key = _key(call)
    body: FullSyncLogIn = call.body(FullSyncLogIn)
    _check_errors(body.errors)
    previous = call.site.sync_logs.get(key, {})
    call.site.sync_logs[key] = {
        "started_full_sync": _iso(body.started_full_sync),
        "last_full_sync": _iso(body.last_full_sync),
        "last_full_sync_succeeded": body.last_full_sync_succeeded,
        "last_partial_sync": previous.get("last_partial_sync"),
        "full_sync_recorded": True,
        "errors": {e.external_id: e.model_dump(exclude_none=True) for e in body.errors},
    }
    return Response(status_code=204)


def patch_sync_log(call: Call) -> Response:
    key = _key(call)
    body: PartialSyncLogIn = call.body(PartialSyncLogIn)
    _check_errors(body.errors)
    clash = {e.external_id for e in body.errors} & set(body.resolved_external_ids)
    if clash:
        raise refuse(400, f"External ids both failed and resolved: {sorted(clash)}.", prop="resolved_external_ids")
    log = call.site.sync_logs.get(key) or {"started_full_sync": None, "last_full_sync": None,
                                           "last_full_sync_succeeded": None, "last_partial_sync": None,
                                           "full_sync_recorded": False, "errors": {}}
    errors = dict(log["errors"])
    for external_id in body.resolved_external_ids:
        errors.pop(external_id, None)
    errors |= {e.external_id: e.model_dump(exclude_none=True) for e in body.errors}
    if len(errors) > MAX_ERRORS:
        raise refuse(400, f"A sync log holds at most {MAX_ERRORS} errors; this patch would leave {len(errors)}.", prop="errors")
    fields = body.model_dump(exclude_unset=True, include={"last_partial_sync", "last_full_sync", "last_full_sync_succeeded"})
    log = log | {k: _iso(v) for k, v in fields.items()} | {"errors": errors}
    call.site.sync_logs[key] = log
    return Response(status_code=204)


def get_sync_log(call: Call) -> Response:
    log = _recorded(call)
    return JSONResponse(_status(log))


def get_sync_log_errors(call: Call) -> Response:
    log = _recorded(call)
    return JSONResponse(_status(log) | {"errors": list(log["errors"].values())[:MAX_ERRORS]})


def delete_sync_logs(call: Call) -> Response:
    call.site.sync_logs.clear()
    return Response(status_code=204)


def _key(call: Call) -> tuple[str, str]:
    data_type = call.path_params["data_type"]
    if data_type not in DATA_TYPES:
        raise refuse(400, f"data_type must be one of {sorted(DATA_TYPES)}.", prop="data_type")
    return call.path_params["integration"], data_type


def _recorded(call: Call) -> dict[str, Any]:
    log = call.site.sync_logs.get(_key(call))
    if log is None or not log["full_sync_recorded"]:
        raise refuse(404, "No full sync has been recorded for this integration and data type.")
    return log


def _check_errors(errors: list[SyncLogErrorIn]) -> None:
    if len(errors) > MAX_ERRORS:
        raise refuse(400, f"At most {MAX_ERRORS} errors per request; got {len(errors)}.", prop="errors")
    seen: set[str] = set()
    for index, error in enumerate(errors):
        if error.external_id in seen:
            raise refuse(400, f"external_id {error.external_id!r} is repeated.", code="duplicate",
                         prop=f"errors[{index}].external_id")
        seen.add(error.external_id)


def _status(log: dict[str, Any]) -> dict[str, Any]:
    return {k: log[k] for k in ("started_full_sync", "last_full_sync", "last_full_sync_succeeded", "last_partial_sync")} | {
        "error_count": len(log["errors"])
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None and hasattr(value, "isoformat") else value
