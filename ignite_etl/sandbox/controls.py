"""What every platform simulator's `/_sandbox/` side shares: its webhook deliverer running beside the
server, and JSON control endpoints that answer a simulator call's result or its problem."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ignite_etl.problem import problem

DELIVERY_TICK_SECONDS = 0.05


class DeliveryLoop:
    """Delivers due webhooks every tick while the app is served (`lifespan`), when `enabled`; tests that
    deliver by hand leave it off."""

    def __init__(self, deliver_due: Callable[[], object], *, enabled: bool):
        self._deliver_due = deliver_due
        self.enabled = enabled
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @contextlib.asynccontextmanager
    async def lifespan(self, app):
        if self.enabled:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        yield
        self.stop()

    def _run(self) -> None:
        while not self._stop.wait(DELIVERY_TICK_SECONDS):
            self._deliver_due()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


async def json_operation(request: Request, operation: Callable[[dict], Any], status: int = 200) -> Response:
    """Run `operation` on the request's JSON body (off the event loop) and answer its result: 404 for an
    unknown record (KeyError), 400 for a bad value."""
    try:
        raw = await request.body()
        data = json.loads(raw) if raw else {}
        result = await run_in_threadpool(operation, data)
    except KeyError as exc:
        return problem(404, f"not found: {exc.args[0]}" if exc.args else "not found")
    except (ValueError, TypeError) as exc:
        return problem(400, str(exc))
    return JSONResponse(result if result is not None else {}, status_code=status)
