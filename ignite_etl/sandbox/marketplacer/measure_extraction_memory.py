"""Measure the adapter's peak memory while extracting generated catalogues of growing size.

The sandbox runs in a child process so only the extracting process is measured:
`python -m ignite_etl.sandbox.marketplacer.measure_extraction_memory --sizes 10000 100000`.
"""

from __future__ import annotations

import argparse
import resource
import socket
import subprocess
import sys
import time

import httpx

from ignite_etl.platforms import platform_for
from ignite_etl.platforms.outbound import SANDBOX
from ignite_etl.sandbox.marketplacer import DEFAULT_API_KEY


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def measure(adverts: int, page_size: int) -> dict:
    port = _free_port()
    child = subprocess.Popen(
        [sys.executable, "-m", "ignite_etl.sandbox.marketplacer", "--adverts", str(adverts), "--port", str(port)],
        stdout=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/graphql"
        deadline = time.monotonic() + 300
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/_sandbox/catalogue", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or child.poll() is not None:
                    raise RuntimeError("the sandbox did not start") from None
                time.sleep(0.5)
        platform = platform_for("marketplacer", {"marketplacer_api_url": url, "currency": "AUD"},
                                {"marketplacer_api_key": DEFAULT_API_KEY}, page_size=page_size,
                                outbound=SANDBOX)
        start_rss = _rss_mb()
        peak_rss = start_rss
        products = variants = problems = pages = 0
        started = time.monotonic()
        for page in platform.iter_catalogue():
            pages += 1
            products += len(page.products)
            variants += sum(len(p.variants) for p in page.products)
            problems += len(page.problems)
            peak_rss = max(peak_rss, _rss_mb())
        platform.close()
        return {
            "adverts": adverts, "products": products, "variants": variants, "problems": problems, "pages": pages,
            "rss_start_mb": round(start_rss, 1), "rss_peak_mb": round(peak_rss, 1),
            "rss_growth_mb": round(peak_rss - start_rss, 1),
            "ru_maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "seconds": round(time.monotonic() - started, 1),
        }
    finally:
        child.terminate()
        child.wait(timeout=30)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--page-size", type=int, default=200)
    args = parser.parse_args(argv)
    for size in args.sizes:
        print(measure(size, args.page_size), flush=True)


if __name__ == "__main__":
    main()
