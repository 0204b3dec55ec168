"""One measured piece of a benchmark, in its own process: `python -m ignite_etl.bench.worker KIND`
with JSON parameters on stdin; prints one `BENCH-RESULT {json}` line.

KIND is `sync` (the real full sync on the Dagster instance in DAGSTER_HOME), `naive` (the
baseline) or `page` (only paging through the platform's catalogue). Peak memory is this
process's ru_maxrss, so it covers the run and nothing else.
"""

from __future__ import annotations

import json
import logging
import resource
import sys
import time
from typing import Any

RESULT_PREFIX = "BENCH-RESULT "


def peak_rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # Linux reports KiB


def run_sync(params: dict[str, Any]) -> dict[str, Any]:
    import dagster as dg

    import ignite_etl.definitions  # noqa: F401 - imported before the clock starts
    from ignite_etl.defs.sync.run import run_full_sync

    with dg.DagsterInstance.get() as instance:
        before = peak_rss_mib()
        started = time.perf_counter()
        summary = _profiled(params, lambda: run_full_sync(params["connection_id"], instance=instance))
        wall = time.perf_counter() - started
    return {"wall_s": round(wall, 3), "success": summary.success, "run_id": summary.run_id,
            "assets": summary.assets, "rss_before_run_mib": before}


def run_naive(params: dict[str, Any]) -> dict[str, Any]:
    from ignite_etl.bench.naive import NaiveTarget, push_everything

    mode = params.pop("mode")
    profile_path = params.pop("profile", None)
    target = NaiveTarget(**params)
    before = peak_rss_mib()
    started = time.perf_counter()
    sent = _profiled({"profile": profile_path}, lambda: push_everything(target, mode))
    return {"wall_s": round(time.perf_counter() - started, 3), "success": True, "sent": sent,
            "rss_before_run_mib": before}


def run_page(params: dict[str, Any]) -> dict[str, Any]:
    from ignite_etl.platforms import platform_for

    before = peak_rss_mib()
    started = time.perf_counter()
    pages = products = 0
    with platform_for(params["platform"], params["platform_config"], params["platform_secrets"],
                      page_size=params["page_size"]) as platform:
        for page in platform.iter_catalogue():
            pages += 1
            products += len(page.products)
    return {"wall_s": round(time.perf_counter() - started, 3), "success": True, "pages": pages,
            "products": products, "rss_before_run_mib": before}


def _profiled(params: dict[str, Any], work):
    """Run `work`, under cProfile when `params["profile"]` names a file to write the stats to."""
    path = params.get("profile")
    if not path:
        return work()
    import cProfile

    profiler = cProfile.Profile()
    try:
        return profiler.runcall(work)
    finally:
        profiler.dump_stats(path)


KINDS = {"sync": run_sync, "naive": run_naive, "page": run_page}


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    kind = argv[0]
    params = json.loads(sys.stdin.read() or "{}")
    result = KINDS[kind](params)
    result["peak_rss_mib"] = peak_rss_mib()
    print(RESULT_PREFIX + json.dumps(result, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
