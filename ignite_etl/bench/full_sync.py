"""The full-sync scenarios: a first sync, the same sync again, and a sync after 1% churn, each
measured for the real sync and for the naive baseline against the same store."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ignite_etl.bench.churn import apply_churn, apply_shop_churn
from ignite_etl.bench.stack import NAIVE, OURS, PLATFORM_PAGE_SIZE, SPARKLAYER_CONCURRENCY, BenchStack, Site
from ignite_etl.bench.worker import cpu_seconds

log = logging.getLogger(__name__)

PAGED: dict[str, dict[str, Any]] = {"marketplacer": {}, "shopify": {"bulk_from": 10**12}}
"""Options that make a platform read its catalogue by paging (Shopify would use bulk operations)."""

STEPS = {
    "full-first": ["full-first"],
    "full-unchanged": ["full-first", "full-unchanged"],
    "full-churn": ["full-first", "full-churn"],
    "full": ["full-first", "full-unchanged", "full-churn"],
}


def run_full_sync_scenario(stack: BenchStack, scenario: str, *, baseline: bool = True, paging: bool = True,
                           profile_dir: Path | None = None, churn_fraction: float = 0.01,
                           on_step: Callable[[list[dict[str, Any]]], None] | None = None) -> list[dict[str, Any]]:
    """Each step of `scenario` in order; a scenario's own step comes after the steps it needs.
    `on_step` sees the steps so far after each one (long runs save what they have)."""
    steps = []
    for step in STEPS[scenario]:
        extra: dict[str, Any] = {}
        if step == "full-churn":
            apply = apply_shop_churn if stack.platform == "shopify" else apply_churn
            churn = apply(stack.store, stack.catalogue.clean_adverts, fraction=churn_fraction, seed=stack.seed + 1)
            extra["churn"] = churn.as_dict()
        log.info("%s: real sync", step)
        ours = measure(stack, OURS, "sync", {"connection_id": OURS.connection_id}, label=f"{step}-ours",
                       profile_dir=profile_dir)
        naive = None
        if baseline:
            log.info("%s: naive baseline", step)
            mode = "create" if step == "full-first" else "update"
            naive = measure(stack, NAIVE, "naive", stack.naive_params(mode), label=f"{step}-naive",
                            profile_dir=profile_dir)
        if step == "full-unchanged" and paging:
            log.info("%s: paging through the catalogue only", step)
            paged = stack.run_worker("page", {"platform": stack.platform, "platform_config": stack.platform_config,
                                              "platform_secrets": stack.platform_secrets,
                                              "page_size": PLATFORM_PAGE_SIZE, "options": PAGED[stack.platform]},
                                     label="paging")
            extra["catalogue_paging_s"] = paged["wall_s"]
            extra["catalogue_paging_peak_rss_mib"] = paged["peak_rss_mib"]
            extra["wall_over_paging"] = _ratio(ours["wall_s"], paged["wall_s"])
        if step == "full-unchanged" and stack.platform == "shopify":
            # the sync's own extraction is bulk: time it alone as well
            bulk = stack.run_worker("page", {"platform": stack.platform, "platform_config": stack.platform_config,
                                             "platform_secrets": stack.platform_secrets,
                                             "page_size": PLATFORM_PAGE_SIZE, "options": {"bulk_from": 1}},
                                    label="bulk-extraction")
            extra["catalogue_bulk_s"] = bulk["wall_s"]
            extra["catalogue_bulk_peak_rss_mib"] = bulk["peak_rss_mib"]
            if paging:
                extra["bulk_over_paging"] = _ratio(bulk["wall_s"], paged["wall_s"])
        if step == "full-churn":
            extra["written_over_changed"] = _ratio(ours["sparklayer"]["records_written"], extra["churn"]["changed_records"])
        if step == "full-first" and stack.latency_ms:
            ceiling = SPARKLAYER_CONCURRENCY / (stack.latency_ms / 1000)
            extra["ceiling_requests_per_s"] = round(ceiling, 1)
            extra["load_share_of_ceiling"] = _ratio(ours["load_requests_per_s"], ceiling)
        steps.append({"step": step, "ours": ours, "naive": naive, "ratios": ratios(ours, naive), **extra})
        if on_step is not None:
            on_step(steps)
    return steps


def measure(stack: BenchStack, site: Site, kind: str, params: dict[str, Any], *, label: str,
            profile_dir: Path | None) -> dict[str, Any]:
    """Run one worker and describe it with what the simulators saw of it."""
    if profile_dir is not None:
        params = {**params, "profile": str(profile_dir / f"{label}.prof")}
    mark, graphql_mark, simulators_cpu = stack.journal_mark(), stack.graphql_mark(), cpu_seconds()
    result = stack.run_worker(kind, params, label=label)
    simulators_cpu = cpu_seconds() - simulators_cpu
    usage = stack.sparklayer_usage(site, mark)
    graphql = stack.graphql_since(graphql_mark)
    wall = result["wall_s"]
    return {
        "success": bool(result.get("success")),
        "wall_s": wall,
        "peak_rss_mib": result["peak_rss_mib"],
        "rss_before_run_mib": result["rss_before_run_mib"],
        "cpu_s": result["cpu_s"],
        "simulators_cpu_s": round(simulators_cpu, 2),
        "records_written_per_s": round(usage.records_written / wall, 1) if wall else None,
        "load_requests_per_s": round(usage.write_requests / usage.write_seconds, 1) if usage.write_seconds else None,
        "sparklayer": usage.as_dict(),
        "marketplacer": {"requests": sum(graphql.values()), "by_operation": graphql},
        "detail": {k: v for k, v in result.items() if k in ("assets", "sent", "run_id", "step_seconds", "step_peak_rss_mib")},
    }


def ratios(ours: dict[str, Any], naive: dict[str, Any] | None) -> dict[str, float | None]:
    """Ours divided by the baseline's: below 1 is better."""
    if naive is None:
        return {}
    return {
        "wall": _ratio(ours["wall_s"], naive["wall_s"]),
        "write_requests": _ratio(ours["sparklayer"]["write_requests"], naive["sparklayer"]["write_requests"]),
        "records_written": _ratio(ours["sparklayer"]["records_written"], naive["sparklayer"]["records_written"]),
        "sparklayer_requests": _ratio(ours["sparklayer"]["requests"], naive["sparklayer"]["requests"]),
        "peak_rss": _ratio(ours["peak_rss_mib"], naive["peak_rss_mib"]),
    }


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or not b:
        return None
    return round(a / b, 4)
