"""How the ingress is served: uvicorn with every limit set on purpose, since the ingress faces the internet
(platform webhooks, merchants' browsers) and each unbounded thing is a way to exhaust it.

- Request line and headers: at most `max_header_bytes`, and complete within `header_timeout_seconds` of the
  connection opening or of the previous response; past either the connection is answered 400 or closed.
  uvicorn's httptools protocol bounds neither (32 MiB headers were read whole); h11's bounds the size but is
  a third slower per request, so the httptools protocol is kept and bounded here.
- Body: at most `IngressConfig.max_body_bytes` and complete within `IngressConfig.body_timeout_seconds`
  (`http.read_body`, which answers 413 / 408).
- Connections and requests in flight: at most `limit_concurrency`, past which uvicorn answers 503 at once.
- Idle keep-alive connections close after `keep_alive_seconds`; a shutdown waits `graceful_shutdown_seconds`
  for requests in flight (each webhook is answered only after its commit).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


@dataclass(frozen=True)
class ServerLimits:
    max_header_bytes: int = 32 * 1024
    header_timeout_seconds: float = 10.0
    limit_concurrency: int = 1000
    keep_alive_seconds: int = 5
    graceful_shutdown_seconds: int = 30

    def uvicorn_options(self) -> dict[str, Any]:
        limits = self

        class Protocol(BoundedHeadersProtocol):
            max_header_bytes = limits.max_header_bytes
            header_timeout_seconds = limits.header_timeout_seconds

        return dict(http=Protocol, limit_concurrency=self.limit_concurrency, timeout_keep_alive=self.keep_alive_seconds,
                    timeout_graceful_shutdown=self.graceful_shutdown_seconds, server_header=False, access_log=False)


class BoundedHeadersProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the request line and headers bounded in size (counted as they
    arrive, so the parser never holds more than the limit and one read) and in time (from the connection
    opening, or from the previous response on a kept-alive connection)."""

    max_header_bytes = 32 * 1024
    header_timeout_seconds = 10.0
    _header_deadline: asyncio.TimerHandle | None = None
    _header_bytes = 0
    _in_headers = True

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_headers()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._in_headers and not self.transport.is_closing():
            self._header_bytes += len(data)
            if self._header_bytes > self.max_header_bytes:
                self._disarm()
                self.send_400_response("Request line and headers are too large.")

    def on_headers_complete(self) -> None:
        self._in_headers = False
        self._disarm()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and not self.pipeline:
            self._await_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _await_headers(self) -> None:
        self._in_headers, self._header_bytes = True, 0
        self._disarm()
        self._header_deadline = self.loop.call_later(self.header_timeout_seconds, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if self._in_headers and not self.transport.is_closing():
            self.transport.close()


def serve(app: Any, host: str, port: int, limits: ServerLimits = ServerLimits(), **options: Any) -> None:
    uvicorn.run(app, host=host, port=port, **limits.uvicorn_options(), **options)
