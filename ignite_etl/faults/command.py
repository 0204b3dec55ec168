"""`ignite-etl faults`: run every fault scenario against the real stack and print the table (also written
into RELIABILITY.md with `--write`)."""

from __future__ import annotations

import argparse
import functools
import logging
import re
import shutil
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from ignite_etl.bench import report
from ignite_etl.bench.stack import BenchStack
from ignite_etl.faults import ingress_scenarios, lifecycle_scenarios, sync_scenarios
from ignite_etl.faults.harness import FaultStack, Outcome

log = logging.getLogger(__name__)

BEGIN, END = "<!-- faults:begin -->", "<!-- faults:end -->"
LOAD_STEP = "sparklayer_products"


def scenarios(stack: FaultStack, *, deliveries: int, outage_seconds: float,
              kill_steps: list[str] | None = None) -> list[tuple[str, Callable[[], Outcome]]]:
    """Every scenario, named; `kill_steps` limits the worker kills to some steps (default: every step)."""
    if kill_steps is None:
        stack.reference()
    steps = kill_steps if kill_steps is not None else stack.steps
    out: list[tuple[str, Callable[[], Outcome]]] = [
        (f"kill-{step}", functools.partial(sync_scenarios.worker_killed, stack, step)) for step in steps
    ]
    out += [
        ("partial-killed", lambda: sync_scenarios.partial_sync_killed(stack, changes=20)),
        ("sparklayer-down", lambda: sync_scenarios.sparklayer_down(stack, outage_seconds)),
        ("sparklayer-429", lambda: sync_scenarios.sparklayer_429_storm(stack)),
        ("token-revoked", lambda: sync_scenarios.sparklayer_tokens_revoked(stack)),
        ("platform-503", lambda: sync_scenarios.platform_retry_after_zero(stack, failures=40)),
        ("postgres-restart", lambda: sync_scenarios.postgres_restarted(stack, LOAD_STEP)),
        ("ingress-killed", lambda: ingress_scenarios.ingress_killed(stack, deliveries)),
        ("two-ingresses", lambda: ingress_scenarios.two_ingresses_same_deliveries(stack, max(10, deliveries // 5))),
        ("duplicates", lambda: ingress_scenarios.duplicates_replays_out_of_order(stack, max(10, deliveries // 5))),
        ("disk-full", lambda: ingress_scenarios.disk_full(stack, max(10, min(500, deliveries // 10)))),
        ("hostile-clients", lambda: ingress_scenarios.hostile_clients(stack)),
        ("removal-fails", lambda: lifecycle_scenarios.removal_fails_then_succeeds(stack)),
    ]
    return out


def table(outcomes: list[Outcome]) -> str:
    rows = ["| scenario | injected | converged | lost | duplicated | time to recover | note |",
            "|---|---|---|---:|---:|---:|---|"]
    for o in outcomes:
        recover = f"{o.recover_s:.1f} s" if o.recover_s is not None else "-"
        rows.append(f"| {o.scenario} | {o.injected} | {'yes' if o.converged else 'NO'} | {o.lost} | {o.duplicated} "
                    f"| {recover} | {o.note} |")
    return "\n".join(rows)


def write_reliability(path: Path, outcomes: list[Outcome], header: str) -> None:
    """Put the table between the markers in `path`; rows of scenarios not run this time are kept (with a
    note that they are older)."""
    text = path.read_text() if path.exists() else f"# Reliability\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text:
        text += f"\n{BEGIN}\n{END}\n"
    old_lines = text[text.index(BEGIN) + len(BEGIN):text.index(END)].strip().splitlines()
    old_header = old_lines[0].split("\n")[0].split(". Rows not run again")[0] if old_lines else ""
    old_rows = [line for line in old_lines if line.startswith("| ") and not line.startswith("| scenario ")]
    head, *fresh = table(outcomes).splitlines()
    rule, fresh = fresh[0], fresh[1:]
    by_name = {row.split("|")[1].strip(): row for row in fresh}
    rows = [by_name.pop(row.split("|")[1].strip(), row) for row in old_rows] + list(by_name.values())
    kept = len(rows) - len(fresh)
    if kept:
        header += f". Rows not run again ({kept}) are from {old_header}"
    block = f"{BEGIN}\n{header}\n\n" + "\n".join([head, rule, *rows]) + f"\n{END}"
    path.write_text(re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S))


def run(args: argparse.Namespace, server_url: str | None) -> int:
    embedded = None
    folder = Path(tempfile.mkdtemp(prefix="ignite-faults-"))
    if server_url is None:  # our own server, so the Postgres restart can be run (its data survives a stop)
        from ignite_etl.store.embedded import EmbeddedPostgres

        embedded = EmbeddedPostgres(folder / "pgdata").start()
        server_url = embedded.url("postgres")

    def restart() -> None:
        assert embedded is not None
        embedded.stop()
        embedded.start()

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per webhook sent otherwise
    started = datetime.now(UTC)
    outcomes: list[Outcome] = []
    try:
        with BenchStack(server_url, adverts=args.adverts, seed=args.seed, latency_ms=args.latency_ms) as bench:
            stack = FaultStack(bench, restart_postgres=restart if embedded else None)
            for name, scenario in scenarios(stack, deliveries=args.deliveries, outage_seconds=args.outage_seconds):
                if args.only and not any(word in name for word in args.only):
                    continue
                log.info("fault scenario %s", name)
                outcome = scenario()
                outcomes.append(outcome)
                print(f"{name}: {'converged' if outcome.converged else 'DID NOT CONVERGE'} "
                      f"(lost {outcome.lost}, duplicated {outcome.duplicated})", flush=True)
    finally:
        if embedded is not None:
            embedded.stop()
        shutil.rmtree(folder, ignore_errors=True)
    machine = report.machine()
    header = (f"`ignite-etl faults --adverts {args.adverts} --deliveries {args.deliveries}`, {started:%Y-%m-%d}, "
              f"{machine['cpus']} CPUs, {machine['platform']}, Python {machine['python']}, load average "
              f"{machine['load_average_1m']} when it ended")
    print("\n" + table(outcomes))
    if args.write:
        write_reliability(args.write, outcomes, header)
        print(f"\nwrote the table into {args.write}")
    return 0 if all(o.converged or o.recover_s is None for o in outcomes) else 1
