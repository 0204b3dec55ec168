"""`ignite-etl bench tenants`: a nightly reconcile of many stores, with every step in its run's process (one
machine, Dagster's default) and with the steps on Celery workers through a broker.

Every store is connected and synced once first; the measured reconcile then re-syncs all of them, as the nightly
schedule does: `RUNS_AT_ONCE` run workers at a time (the run coordinator's limit in deploy/dagster.yaml), each a
process of its own as the default run launcher starts them. Each store is its own Marketplacer instance as far as
rate limits go (a store's budget is not shared with the others'), on one simulator.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ignite_etl.bench.celery_workers import CeleryWorkers, isolated_vhost
from ignite_etl.bench.stack import BenchStack, Site

log = logging.getLogger(__name__)

RUNS_AT_ONCE = 4
WORKERS = 2
WORKER_CONCURRENCY = 2
STORES_TO_PREDICT = 500


def reconcile(stack: BenchStack, label: str) -> dict[str, Any]:
    """Full syncs of every tenant, RUNS_AT_ONCE at a time; the wall time and each run's."""
    def one(site: Site) -> dict[str, Any]:
        return stack.run_worker("sync", {"connection_id": site.connection_id}, label=f"{label}-{site.site_id}")

    started = time.perf_counter()
    with ThreadPoolExecutor(RUNS_AT_ONCE) as pool:
        runs = list(pool.map(one, stack.tenants))
    wall = time.perf_counter() - started
    run_walls = sorted(run["wall_s"] for run in runs)
    return {"mode": label, "success": all(run["success"] for run in runs), "wall_s": round(wall, 1),
            "stores_per_minute": round(60 * len(runs) / wall, 1),
            "run_wall_median_s": run_walls[len(run_walls) // 2], "run_wall_max_s": run_walls[-1],
            "predicted_500_stores_min": round(STORES_TO_PREDICT * wall / len(runs) / 60, 1)}


def run_tenants_scenario(stack: BenchStack, broker_url: str) -> list[dict[str, Any]]:
    """On a stack of many tenants, each a store of its own (`BenchStack(tenants=N, separate_stores=True)`)."""
    connections, adverts = len(stack.tenants), stack.adverts
    with isolated_vhost(broker_url) as broker:
        stack.marketplacer.set_rate_limit(per_key=10**9, per_ip=10**9, per_operator=10**9)  # one instance per store
        log.info("first sync of %d stores of %d adverts", connections, adverts)
        first = reconcile(stack, "first sync, in-process")
        log.info("reconcile, every step in its run's process")
        in_process = reconcile(stack, "reconcile, in-process")
        stack.env["IGNITE_CELERY_BROKER_URL"] = broker
        with CeleryWorkers(stack.worker_env(), count=WORKERS, concurrency=WORKER_CONCURRENCY):
            log.info("reconcile, steps on %d Celery workers of %d processes", WORKERS, WORKER_CONCURRENCY)
            celery = reconcile(stack, f"reconcile, {WORKERS}x{WORKER_CONCURRENCY} Celery workers")
    rows = [first, in_process, celery]
    header = (f"{connections} stores of {adverts} adverts, {RUNS_AT_ONCE} runs at once; "
              f"prediction = {STORES_TO_PREDICT} stores at the same per-store pace")
    table = [header, f"{'':44} {'wall s':>8} {'stores/min':>11} {'run median s':>13} {'run max s':>10} "
                     f"{'500 stores, min':>16}"]
    table += [f"{row['mode']:44} {row['wall_s']:>8} {row['stores_per_minute']:>11} {row['run_wall_median_s']:>13} "
              f"{row['run_wall_max_s']:>10} {row['predicted_500_stores_min']:>16}" for row in rows]
    return [{"step": "tenants", "rows": rows, "text": "\n".join(table),
             "ours": {"success": all(row["success"] for row in rows)}}]
