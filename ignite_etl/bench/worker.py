"""One measured piece of a benchmark, in its own process: `python -m ignite_etl.bench.worker KIND`
with JSON parameters on stdin; prints one `BENCH-RESULT {json}` line.

KIND is `sync` (the real full sync on the Dagster instance in DAGSTER_HOME), `partial` (the partial
sync of the connection's queued changes, there too), `removal` (a removal run the lifecycle sensor asked
for), `naive` (the baseline) or `page` (only paging through the platform's catalogue). Peak memory is this
process's own high-water mark (VmHWM), so it covers the run and nothing else.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import sys
import threading
import time
from typing import Any

from ignite_etl.platforms.outbound import SANDBOX

RESULT_PREFIX = "BENCH-RESULT "


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mib() -> float:
    """This process's own peak: VmHWM. ru_maxrss survives exec on Linux, so a worker forked from the
    bench process (which holds the simulators' catalogue) would start from the bench's size."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)  # kB
    except OSError:  # no /proc (macOS): ru_maxrss, which counts bytes there
        pass
    unit = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB elsewhere
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * unit / 2**20, 1)


class RssSampler:
    """Samples this process's resident memory a few times a second, so a peak can be pinned to a step."""

    def __init__(self, interval: float = 0.1):
        self.samples: list[tuple[float, float]] = []  # (epoch seconds, MiB)
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        page_mib = os.sysconf("SC_PAGE_SIZE") / 2**20
        while not self._stop.wait(self._interval):
            with open("/proc/self/statm") as statm:
                self.samples.append((time.time(), int(statm.read().split()[1]) * page_mib))

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def peak_between(self, start: float, end: float) -> float | None:
        inside = [mib for at, mib in self.samples if start <= at <= end]
        return round(max(inside), 1) if inside else None


def run_sync(params: dict[str, Any]) -> dict[str, Any]:
    import dagster as dg

    import ignite_etl.definitions  # noqa: F401 - imported before the clock starts
    from ignite_etl.defs.sync.run import run_full_sync

    with dg.DagsterInstance.get() as instance:
        before = peak_rss_mib()
        started = time.perf_counter()
        with RssSampler() as sampler:
            summary = _profiled(params, lambda: run_full_sync(params["connection_id"], instance=instance))
        wall = time.perf_counter() - started
        stats = [s for s in instance.get_run_step_stats(summary.run_id) if s.start_time and s.end_time]
    return {"wall_s": round(wall, 3), "success": summary.success, "run_id": summary.run_id,
            "assets": summary.assets, "rss_before_run_mib": before,
            "step_seconds": {s.step_key: round((s.end_time or 0) - (s.start_time or 0), 3) for s in stats},
            "step_peak_rss_mib": {s.step_key: sampler.peak_between(s.start_time or 0, s.end_time or 0) for s in stats}}


def run_partial(params: dict[str, Any]) -> dict[str, Any]:
    import dagster as dg

    import ignite_etl.definitions  # noqa: F401 - imported before the clock starts
    from ignite_etl.defs.sync.run import run_partial_sync

    with dg.DagsterInstance.get() as instance:
        started = time.perf_counter()
        summary = run_partial_sync(params["connection_id"], instance=instance)
    return {"wall_s": round(time.perf_counter() - started, 3), "success": summary.success, "run_id": summary.run_id}


def run_removal(params: dict[str, Any]) -> dict[str, Any]:
    import dagster as dg

    import ignite_etl.definitions  # noqa: F401
    from ignite_etl.defs.sync.run import run_removal as removal

    with dg.DagsterInstance.get() as instance:
        summary = removal(params["run_config"], params["tags"], instance=instance)
    return {"success": summary.success, "run_id": summary.run_id}


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
                      page_size=params["page_size"], outbound=SANDBOX, **params.get("options", {})) as platform:
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


KINDS = {"sync": run_sync, "partial": run_partial, "removal": run_removal, "naive": run_naive, "page": run_page}


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    kind = argv[0]
    params = json.loads(sys.stdin.read() or "{}")
    result = KINDS[kind](params)
    result["peak_rss_mib"] = peak_rss_mib()
    result["cpu_s"] = round(cpu_seconds(), 2)  # the whole process, imports included
    print(RESULT_PREFIX + json.dumps(result, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
