"""`ignite-etl bench SCENARIO`: set up the stack, run the scenario, print the table, write the JSON."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from datetime import UTC, datetime
from typing import Any

from ignite_etl.bench import report
from ignite_etl.bench.full_sync import STEPS, run_full_sync_scenario
from ignite_etl.bench.stack import BenchStack

log = logging.getLogger(__name__)

DEFAULT_BROKER = "amqp://guest:guest@127.0.0.1:5672//"
"""The broker `bench tenants` uses when IGNITE_CELERY_BROKER_URL is not set: RabbitMQ on this machine."""


def run_scenario(server_url: str, args: argparse.Namespace, broker_url: str | None = None) -> dict[str, Any]:
    started = datetime.now(UTC)
    platform = getattr(args, "platform", "marketplacer")
    if platform != "marketplacer" and args.scenario not in STEPS:
        raise SystemExit(f"bench {args.scenario} runs on Marketplacer stores only; --platform {platform} is for the "
                         "full-sync scenarios")
    result: dict[str, Any] = {
        "scenario": args.scenario, "platform": platform, "adverts": args.adverts, "latency_ms": args.latency_ms,
        "seed": args.seed,
        "baseline": not args.no_baseline, "paging": not args.no_paging, "command": "ignite-etl " + " ".join(sys.argv[1:]),
        "started_at": started.isoformat(timespec="seconds"), "machine": report.machine(),
    }
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    clock = time.monotonic()
    tenants = args.connections if args.scenario == "tenants" else 1
    with BenchStack(server_url, adverts=args.adverts, seed=args.seed, latency_ms=args.latency_ms, tenants=tenants,
                    separate_stores=tenants > 1, platform=platform) as stack:
        result["catalogue"] = stack.catalogue.as_dict()
        if args.scenario == "tenants":
            from ignite_etl.bench.tenants import run_tenants_scenario

            result["steps"] = run_tenants_scenario(stack, broker_url or DEFAULT_BROKER)
        elif args.scenario in STEPS:
            def save(steps: list[dict[str, Any]]) -> None:
                if args.json:
                    report.write_json({**result, "steps": steps, "partial": True}, args.json)

            result["steps"] = run_full_sync_scenario(stack, args.scenario, baseline=not args.no_baseline,
                                                     paging=not args.no_paging, profile_dir=args.profile,
                                                     on_step=save)
        elif args.scenario == "ingress":
            from ignite_etl.bench.ingress import run_ingress_scenario

            result["steps"] = run_ingress_scenario(stack, deliveries=args.deliveries, connections=args.connections)
        else:
            from ignite_etl.bench.partial_latency import run_partial_latency_scenario

            result["steps"] = run_partial_latency_scenario(stack)
    result["total_s"] = round(time.monotonic() - clock, 1)
    result["machine_after"] = report.machine()
    return result


def run(args: argparse.Namespace, server_url: str, broker_url: str | None = None) -> int:
    result = run_scenario(server_url, args, broker_url)
    print(report.text(result), flush=True)
    if args.json:
        report.write_json(result, args.json)
        print(f"\nwrote {args.json}")
    failed = [s["step"] for s in result.get("steps", []) if not s.get("ours", {}).get("success", True)]
    failed += [s["step"] for s in result.get("steps", []) if s["step"] == "ingress" and s["recorded_in_queue"] == 0]
    return 1 if failed else 0
