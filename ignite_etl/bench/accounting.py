"""Counting what a sync asked of each API, from what the simulators saw rather than what the client says.

SparkLayer requests come from the simulator's journal, named by our endpoint table; Marketplacer
requests are counted by GraphQL operation by a thin ASGI wrapper in front of its simulator.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ignite_etl.sandbox.sparklayer.controls import JournalEntry
from ignite_etl.sparklayer import endpoints as ep

# Requests that change a site's data; the sync log, tokens, reads and the stock-location check each full
# sync makes (a 409 once the location exists) are not writes.
WRITE_KINDS = frozenset({
    "create_product", "update_product", "update_variant", "batch_update_stock", "update_pricing",
    "upsert_customer", "delete_customer", "patch_settings", "create_price_list", "put_purchase",
})
BATCH_KINDS = frozenset({"batch_update_stock", "update_pricing"})


def _pattern(endpoint: ep.Endpoint) -> re.Pattern:
    path = re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(endpoint.path))
    return re.compile(rf"^/(?:live|test){path}$")


_ROUTES = [
    (endpoint.method, _pattern(endpoint), endpoint.name)
    for endpoint in vars(ep).values() if isinstance(endpoint, ep.Endpoint)
]


def kind_of(method: str, path: str) -> str:
    """The endpoint name (`create_product`, `batch_update_stock`, ...) of a request the simulator saw."""
    for route_method, pattern, name in _ROUTES:
        if route_method == method and pattern.match(path):
            return name
    return f"{method} {path}"


@dataclass
class SparkLayerUsage:
    """Requests one site received in a window of the journal."""

    by_kind: Counter = field(default_factory=Counter)
    write_requests: int = 0
    records_written: int = 0
    rate_limited: int = 0
    errors: int = 0
    first_write_at: float | None = None
    last_write_at: float | None = None
    windows: dict[str, list[float]] = field(default_factory=dict)  # kind -> [first arrival, last arrival]

    @property
    def requests(self) -> int:
        return sum(self.by_kind.values())

    @property
    def write_seconds(self) -> float:
        """From the first write's arrival to the last's: how long the load phase kept SparkLayer busy."""
        if self.first_write_at is None or self.last_write_at is None:
            return 0.0
        return self.last_write_at - self.first_write_at

    def as_dict(self) -> dict:
        return {
            "requests": self.requests, "write_requests": self.write_requests, "records_written": self.records_written,
            "rate_limited": self.rate_limited, "errors": self.errors, "write_seconds": round(self.write_seconds, 3),
            "by_kind": dict(sorted(self.by_kind.items())),
            "seconds_by_kind": {k: round(last - first, 3) for k, (first, last) in sorted(self.windows.items())},
        }


def sparklayer_usage(entries: Iterable[JournalEntry]) -> SparkLayerUsage:
    usage = SparkLayerUsage()
    for entry in entries:
        kind = kind_of(entry.method, entry.path)
        usage.by_kind[kind] += 1
        window = usage.windows.setdefault(kind, [entry.arrived, entry.arrived])
        window[1] = entry.arrived
        if entry.status == 429:
            usage.rate_limited += 1
            continue
        if entry.status >= 400:
            usage.errors += 1
        if kind in WRITE_KINDS and entry.status < 500:
            usage.write_requests += 1
            usage.records_written += entry.item_count if kind in BATCH_KINDS else 1
            usage.first_write_at = entry.arrived if usage.first_write_at is None else usage.first_write_at
            usage.last_write_at = entry.arrived
    return usage


_OPERATION = re.compile(r"\b(?:query|mutation)\s+([A-Za-z_]\w*)")


class OperationCounter:
    """ASGI wrapper that counts GraphQL requests by operation name on their way to the simulator."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.counts: Counter = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].endswith(("/graphql", "/graphql.json")):
            await self.app(scope, receive, send)
            return
        chunks: list[Message] = []
        body = b""
        while True:
            message = await receive()
            chunks.append(message)
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.counts[operation_name(body)] += 1
        pending = iter(chunks)

        async def replay() -> Message:
            return next(pending, {"type": "http.disconnect"})

        await self.app(scope, replay, send)

    def snapshot(self) -> Counter:
        return Counter(self.counts)


def operation_name(body: bytes) -> str:
    try:
        payload = json.loads(body)
    except ValueError:
        return "unreadable"
    if not isinstance(payload, dict):
        return "unreadable"
    if payload.get("operationName"):
        return str(payload["operationName"])
    match = _OPERATION.search(str(payload.get("query") or ""))
    return match.group(1) if match else "anonymous"


def difference(after: Counter, before: Counter) -> dict[str, int]:
    return {k: after[k] - before.get(k, 0) for k in sorted(after) if after[k] - before.get(k, 0)}
