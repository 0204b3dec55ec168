"""The load for the `ingress` scenario, in its own process: many keep-alive connections posting signed
Marketplacer webhooks as fast as the ingress answers, each request timed from first byte sent to
last byte read. `python -m ignite_etl.bench.webhook_load` with JSON parameters on stdin.

A bare asyncio HTTP/1.1 client rather than httpx: at thousands of requests a second a full client's
own CPU would be what is measured, not the ingress.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from typing import Any

from ignite_etl.platforms.marketplacer.webhooks import signature

RESULT_PREFIX = "BENCH-RESULT "


def delivery(index: int, key: str, run_tag: str) -> tuple[bytes, dict[str, str]]:
    """One signed delivery about a distinct variant, with its own idempotency key."""
    body = json.dumps({
        "id": f"{run_tag}-{index}",
        "event_name": "update",
        "payload": {"data": {"node": {"__typename": "Variant", "id": f"VmFyaWFudC0{index}"}}},
    }).encode()
    return body, {"Marketplacer-Hmac-256": signature(body, key), "Marketplacer-Sequence": str(index),
                  "Idempotency-Key": f"{run_tag}-{index}"}


def request_bytes(host: str, port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    head = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", "Content-Type: application/json",
            f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def _connection(host: str, port: int, requests: list[bytes], positions, latencies: list[float],
                      statuses: Counter) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for position in positions:
            started = time.perf_counter()
            writer.write(requests[position])
            await writer.drain()
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            if length:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            statuses[int(status_line.split()[1]) if status_line else 0] += 1
    finally:
        writer.close()


async def drive(params: dict[str, Any]) -> dict[str, Any]:
    host, port, path = params["host"], params["port"], params["path"]
    count, connections = params["deliveries"], params["connections"]
    requests = [request_bytes(host, port, path, *delivery(i, params["key"], params["run_tag"])) for i in range(count)]
    positions = iter(range(count))  # shared: each connection takes the next delivery when it is free
    latencies: list[float] = []
    statuses: Counter = Counter()
    started = time.perf_counter()
    await asyncio.gather(*(_connection(host, port, requests, positions, latencies, statuses)
                           for _ in range(connections)))
    duration = time.perf_counter() - started
    latencies.sort()
    return {"sent": count, "connections": connections, "duration_s": round(duration, 3),
            "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "latency_ms": {name: round(percentile(latencies, q) * 1000, 2)
                           for name, q in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))}}


def percentile(ordered: list[float], q: float) -> float:
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def main() -> int:
    params = json.loads(sys.stdin.read())
    result = asyncio.run(drive(params))
    print(RESULT_PREFIX + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
