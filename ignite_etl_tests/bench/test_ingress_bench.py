"""The ingress scenario at a tiny scale: `ignite-etl ingress` in its own process, signed webhooks from
another, and the deliveries counted in the change queue. No assertion about speed."""

from __future__ import annotations

from ignite_etl.bench.ingress import run_ingress_scenario
from ignite_etl.bench.stack import BenchStack


def test_every_signed_delivery_is_recorded_once_and_timed(pg_server_url):
    with BenchStack(pg_server_url, adverts=5, latency_ms=0) as stack:
        [step] = run_ingress_scenario(stack, deliveries=150, connections=6)
    assert step["statuses"] == {"202": 150}
    assert step["recorded_in_queue"] == 150
    assert step["recorded_per_s"] > 0 and step["ingress_cpu_s"] > 0
    latency = step["latency_ms"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"] <= latency["max"]
    assert "recorded in the change queue" in step["text"]
