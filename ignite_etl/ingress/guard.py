"""The ingress's outermost layer: refuses a request whose path or query holds a control character before
any handler sees it, and turns whatever a handler failed with into a problem logged by type only (user
input and database text stay out of the logs): 503 when the database did not answer, 500 otherwise, and
one quiet line when the client left mid-request."""

from __future__ import annotations

import logging
from urllib.parse import unquote_to_bytes

import psycopg
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ignite_etl.problem import problem

log = logging.getLogger(__name__)


def _has_control_character(data: bytes) -> bool:
    return any(byte < 0x20 or byte == 0x7F for byte in data)


class IngressGuard:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_path = scope.get("raw_path") or scope["path"].encode()
        if _has_control_character(unquote_to_bytes(raw_path)) or _has_control_character(
                unquote_to_bytes(scope.get("query_string", b""))):
            await problem(400, "The URL contains a control character.")(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except ClientDisconnect:
            log.info("ingress: %s %s: the client went away mid-request", scope["method"], scope["path"])
        except psycopg.OperationalError as exc:  # the database is down, restarting or has no free connection
            log.warning("ingress: %s %s: the database did not answer (%s)", scope["method"], scope["path"],
                        type(exc).__name__)
            if not started:
                await problem(503, "The ingress could not record the request just now; it was not recorded. "
                                   "Try again shortly.", headers={"Retry-After": "5"})(scope, receive, send)
        except Exception as exc:
            log.error("ingress: %s %s failed: %s", scope["method"], scope["path"], type(exc).__name__)
            if not started:
                await problem(500, "The ingress failed to handle the request; it was not recorded. "
                                   "Try again.")(scope, receive, send)
