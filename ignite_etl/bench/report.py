"""The bench result as a plain-text table for the terminal and as JSON for BENCHMARKS.md and tools."""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path
from typing import Any


def machine() -> dict[str, Any]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "load_average_1m": round(load[0], 2) if load else None,
    }


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


SYNC_ROWS = [
    ("wall time (s)", lambda m: m["wall_s"], "wall"),
    ("records written", lambda m: m["sparklayer"]["records_written"], "records_written"),
    ("write requests", lambda m: m["sparklayer"]["write_requests"], "write_requests"),
    ("SparkLayer requests (all)", lambda m: m["sparklayer"]["requests"], "sparklayer_requests"),
    ("store requests (GraphQL)", lambda m: m["marketplacer"]["requests"], None),
    ("records written / s", lambda m: m["records_written_per_s"], None),
    ("write requests / s (load phase)", lambda m: m["load_requests_per_s"], None),
    ("peak RSS (MiB)", lambda m: m["peak_rss_mib"], "peak_rss"),
    ("CPU of the run process (s)", lambda m: m.get("cpu_s"), None),
    ("CPU of the simulators (s)", lambda m: m.get("simulators_cpu_s"), None),
    ("succeeded", lambda m: m["success"], None),
]

EXTRAS = [
    ("churn", "changed records", lambda s: s["churn"]["changed_records"]),
    ("written_over_changed", "records written / changed", lambda s: s["written_over_changed"]),
    ("catalogue_paging_s", "paging the catalogue only (s)", lambda s: s["catalogue_paging_s"]),
    ("wall_over_paging", "wall time / paging time", lambda s: s["wall_over_paging"]),
    ("catalogue_paging_peak_rss_mib", "paging the catalogue: peak RSS (MiB)", lambda s: s["catalogue_paging_peak_rss_mib"]),
    ("catalogue_bulk_s", "bulk extraction only (s)", lambda s: s["catalogue_bulk_s"]),
    ("catalogue_bulk_peak_rss_mib", "bulk extraction: peak RSS (MiB)", lambda s: s["catalogue_bulk_peak_rss_mib"]),
    ("bulk_over_paging", "bulk time / paging time", lambda s: s["bulk_over_paging"]),
    ("ceiling_requests_per_s", "ceiling: concurrency / latency (req/s)", lambda s: s["ceiling_requests_per_s"]),
    ("load_share_of_ceiling", "load phase share of that ceiling", lambda s: s["load_share_of_ceiling"]),
]


def sync_table(step: dict[str, Any]) -> str:
    ours, naive, ratios = step["ours"], step.get("naive"), step.get("ratios") or {}
    header = ["", "ignite-etl", "naive", "ours/naive"]
    rows = [header]
    for label, get, ratio_key in SYNC_ROWS:
        rows.append([label, _fmt(get(ours)), _fmt(get(naive)) if naive else "-",
                     _fmt(ratios.get(ratio_key)) if ratio_key else ""])
    for key, label, get in EXTRAS:
        if key in step:
            rows.append([label, _fmt(get(step)), "", ""])
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [f"== {step['step']} =="]
    for index, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)))
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def text(result: dict[str, Any]) -> str:
    catalogue = result.get("catalogue", {})
    lines = [
        f"ignite-etl bench {result['scenario']} ({result.get('platform', 'marketplacer')}): {catalogue.get('adverts')} "
        f"products, {catalogue.get('variants')} variants, "
        f"{catalogue.get('customers')} customers; SparkLayer latency {result['latency_ms']} ms; "
        f"{result['machine']['cpus']} CPUs, load {result['machine']['load_average_1m']}",
    ]
    for step in result.get("steps", []):
        lines += ["", step["text"] if "text" in step else sync_table(step)]
    return "\n".join(lines)


def write_json(result: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")


def markdown(result: dict[str, Any]) -> str:
    """The same tables as Markdown, for BENCHMARKS.md (`python -m ignite_etl.bench.report RESULT.json`)."""
    catalogue = result.get("catalogue", {})
    lines = [f"`{result.get('command')}` — {catalogue.get('adverts'):,} products, {catalogue.get('variants'):,} variants, "
             f"{catalogue.get('customers'):,} customers; load average {result['machine']['load_average_1m']} at the "
             f"start, {result.get('machine_after', {}).get('load_average_1m')} at the end", ""]
    for step in result.get("steps", []):
        if "text" in step:
            lines += ["```", step["text"], "```", ""]
            continue
        ours, naive, ratios = step["ours"], step.get("naive"), step.get("ratios") or {}
        lines += [f"**{step['step']}**", "", "| | ignite-etl | naive | ours / naive |", "|---|--:|--:|--:|"]
        for label, get, ratio_key in SYNC_ROWS:
            lines.append(f"| {label} | {_fmt(get(ours))} | {_fmt(get(naive)) if naive else '-'} | "
                         f"{_fmt(ratios.get(ratio_key)) if ratio_key else ''} |")
        for key, label, get in EXTRAS:
            if key in step:
                lines.append(f"| {label} | {_fmt(get(step))} | | |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(markdown(json.loads(Path(name).read_text())))
