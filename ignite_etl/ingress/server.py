"""How the ingress is served: uvicorn with every limit set on purpose, since the ingress faces the internet
(platform webhooks, merchants' browsers) and each unbounded thing is a way to exhaust it.

- Request line and headers: at most `max_header_bytes` (h11's incomplete-event limit; uvicorn's httptools
  parser has none), and complete within `header_timeout_seconds` of the connection opening or of the
  previous response (a slow-header client is disconnected).
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

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol


@dataclass(frozen=True)
class ServerLimits:
    max_header_bytes: int = 32 * 1024
    header_timeout_seconds: float = 10.0
    limit_concurrency: int = 1000
    keep_alive_seconds: int = 5
    graceful_shutdown_seconds: int = 30

    def uvicorn_options(self) -> dict[str, Any]:
        limits = self

        class Protocol(HeaderDeadlineProtocol):
            header_timeout_seconds = limits.header_timeout_seconds

        return dict(http=Protocol, h11_max_incomplete_event_size=self.max_header_bytes,
                    limit_concurrency=self.limit_concurrency, timeout_keep_alive=self.keep_alive_seconds,
                    timeout_graceful_shutdown=self.graceful_shutdown_seconds, server_header=False,
                    access_log=False)


class HeaderDeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request line and headers have not all arrived
    `header_timeout_seconds` after it opened or after its previous response."""

    header_timeout_seconds = 10.0
    _header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE:  # the headers are in
            self._disarm_header_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)

    def _arm_header_deadline(self) -> None:
        self._disarm_header_deadline()
        self._header_deadline = self.loop.call_later(self.header_timeout_seconds, self._headers_too_slow)

    def _disarm_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def serve(app: Any, host: str, port: int, limits: ServerLimits = ServerLimits(), **options: Any) -> None:
    uvicorn.run(app, host=host, port=port, **limits.uvicorn_options(), **options)
