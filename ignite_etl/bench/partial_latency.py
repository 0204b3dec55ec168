"""The `partial-latency` scenario: with the Dagster daemon, the ingress and the Marketplacer
simulator's own signed webhooks, a steady stream of stock changes and then a few isolated ones, each
timed from the moment the store changed (and its webhook was sent) to the moment SparkLayer holds the
new level. The stream is served by a run that lingers for more; an isolated change waits for the
sensor and a new run.

The store is first fully synced, so each change is one stock write. The daemon runs the project's
sensors at IGNITE_SENSOR_INTERVAL_SECONDS (5 s here) and launches each partial_sync run in its own
process, as in production.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ignite_etl.bench.ingress import serving_ingress
from ignite_etl.bench.stack import OURS, SITE_ENV, STOCK_LOCATION, BenchStack
from ignite_etl.bench.webhook_load import percentile
from ignite_etl.devstack import PROJECT_ROOT
from ignite_etl.platforms import platform_for
from ignite_etl.platforms.outbound import SANDBOX
from ignite_etl.store.cipher import CredentialCipher
from ignite_etl.store.connections import save_webhook_registration
from ignite_etl.store.database import connect, one

log = logging.getLogger(__name__)

SENSOR_INTERVAL_SECONDS = 5
LINGER_SECONDS = 10  # the partial sync's default (IGNITE_QUEUE_LINGER_SECONDS)


@dataclass
class StockChange:
    sku: str
    level: int
    changed_at: float
    written_at: float | None = None


def run_partial_latency_scenario(stack: BenchStack, *, changes: int = 60, interval_s: float = 1.0,
                                 isolated: int = 10, warmup_timeout_s: float = 240.0,
                                 settle_timeout_s: float = 120.0) -> list[dict[str, Any]]:
    log.info("partial-latency: first full sync")
    first = stack.run_worker("sync", {"connection_id": OURS.connection_id}, label="partial-first-sync")
    if not first["success"]:
        raise RuntimeError("the first full sync failed; see the bench worker log")
    env = {**stack.worker_env(), "IGNITE_INGRESS_TOKEN": uuid.uuid4().hex,
           "IGNITE_SENSOR_INTERVAL_SECONDS": str(SENSOR_INTERVAL_SECONDS),
           "IGNITE_QUEUE_LINGER_SECONDS": str(LINGER_SECONDS)}
    # Isolated changes come once the previous run has stopped lingering and ended, so each one waits
    # for the sensor and a new run: the latency of a store that changes now and then.
    with serving_ingress(stack, env) as (ingress_url, _server):
        _register_webhooks(stack, f"{ingress_url}/webhooks/marketplacer/{OURS.connection_id}")
        with _daemon(stack, env):
            watcher = _Watcher(stack)
            rng = random.Random(stack.seed + 7)
            variants = _stock_variants(stack, rng, 1 + changes + isolated)
            log.info("partial-latency: waiting for the daemon's first partial sync")
            warmup = _change_stock(stack, variants[0])
            watcher.watch([warmup])
            if not watcher.wait([warmup], warmup_timeout_s):
                raise TimeoutError(f"no partial sync wrote a change within {warmup_timeout_s}s; see the daemon log")
            log.info("partial-latency: %d stock changes, one every %ss", changes, interval_s)
            stream = _timed_changes(stack, watcher, variants[1:1 + changes], interval_s)
            watcher.wait(stream, settle_timeout_s)
            log.info("partial-latency: %d isolated stock changes, each once no partial sync is running", isolated)
            lone = []
            for variant in variants[1 + changes:]:
                _wait_for_partial_runs(stack, timeout_s=LINGER_SECONDS + 60)
                time.sleep(1.0)
                lone += _timed_changes(stack, watcher, [variant], 0)
                watcher.wait(lone[-1:], settle_timeout_s)
            watcher.stop()
            _wait_for_partial_runs(stack, timeout_s=LINGER_SECONDS + 60)
    step = {
        "step": "partial-latency",
        "changes": len(stream),
        "written": sum(c.written_at is not None for c in stream),
        "interval_s": interval_s,
        "sensor_interval_s": SENSOR_INTERVAL_SECONDS,
        "linger_s": LINGER_SECONDS,
        "warmup_delay_s": round(warmup.written_at - warmup.changed_at, 2) if warmup.written_at else None,
        "delay_s": _delays(stream),
        "isolated": {"changes": len(lone), "written": sum(c.written_at is not None for c in lone),
                     "delay_s": _delays(lone)},
        "partial_runs": _partial_runs(stack),
    }
    step["text"] = partial_text(step)
    return [step]


def _timed_changes(stack: BenchStack, watcher: _Watcher, variants: list, interval_s: float) -> list[StockChange]:
    started = time.monotonic()
    out: list[StockChange] = []
    for index, variant in enumerate(variants):
        time.sleep(max(0.0, started + index * interval_s - time.monotonic()))
        change = _change_stock(stack, variant)
        out.append(change)
        watcher.watch([change])
    return out


def _delays(changes: list[StockChange]) -> dict[str, float]:
    delays = sorted(c.written_at - c.changed_at for c in changes if c.written_at is not None)
    if not delays:
        return {}
    return {name: round(percentile(delays, q), 2) for name, q in (("p50", 0.5), ("p95", 0.95), ("max", 1.0))}


def _wait_for_partial_runs(stack: BenchStack, timeout_s: float) -> None:
    """Let the last run stop lingering and finish, so its times are counted."""
    deadline = time.monotonic() + timeout_s
    with connect(stack.dagster_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            busy = one(conn.execute("select count(*) as n from runs where pipeline_name = 'partial_sync' "
                                "and status in ('QUEUED', 'NOT_STARTED', 'STARTING', 'STARTED')").fetchone())["n"]
            if not busy:
                return
            time.sleep(0.5)


def _register_webhooks(stack: BenchStack, url: str) -> None:
    """What connecting a store does: webhooks registered with the platform, their key stored encrypted."""
    with platform_for("marketplacer", stack.platform_config, stack.platform_secrets, outbound=SANDBOX) as platform:
        registration = platform.register_webhooks(url)
    with connect(stack.app_url) as conn:
        save_webhook_registration(conn, CredentialCipher(stack.secret_key), OURS.connection_id, url=url,
                                  key=registration.key, state=registration.state)


class _daemon:
    """`dagster-daemon run` on the bench's instance, stopped (and its runs with it) on exit."""

    def __init__(self, stack: BenchStack, env: dict[str, str]):
        self._stack, self._env = stack, env

    def __enter__(self) -> _daemon:
        bin_dir = Path(sys.executable).parent
        self._log = open(self._stack.workdir / "daemon.log", "wb")
        self._process = subprocess.Popen(
            [str(bin_dir / "dagster-daemon"), "run", "-w", str(PROJECT_ROOT / "workspace.yaml")],
            env=self._env, cwd=self._stack.dagster_home, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def __exit__(self, *exc) -> None:
        try:
            self._process.send_signal(signal.SIGINT)
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        with contextlib.suppress(ProcessLookupError):  # its code server (which ignores SIGTERM) and any run left
            os.killpg(self._process.pid, signal.SIGKILL)
        self._log.close()


def _stock_variants(stack: BenchStack, rng: random.Random, count: int):
    catalogue = stack.marketplacer.catalogue
    adverts = rng.sample(stack.catalogue.clean_adverts, count)
    return [rng.choice(catalogue.live_variants(catalogue.adverts[a])) for a in adverts]


def _change_stock(stack: BenchStack, variant) -> StockChange:
    """Change the level in the store, then let the simulator send its signed webhooks at once."""
    level = variant.count_on_hand + 11
    stack.marketplacer.set_stock(variant.legacy_id, level)
    change = StockChange(variant.sku, level, time.monotonic())
    stack.marketplacer.deliver_webhooks(settle=False)
    return change


class _Watcher:
    """Polls SparkLayer's state (in this process) and notes when each watched level arrives."""

    def __init__(self, stack: BenchStack, poll_s: float = 0.1):
        self._stack, self._poll = stack, poll_s
        self._watched: list[StockChange] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def watch(self, changes: list[StockChange]) -> None:
        with self._lock:
            self._watched.extend(changes)

    def _run(self) -> None:
        while not self._stop.wait(self._poll):
            with self._lock:
                waiting = [c for c in self._watched if c.written_at is None]
            if not waiting:
                continue
            now = time.monotonic()
            stock = {(s["sku"], s["stock_location_external_id"]): s["stock_level"]
                     for s in self._stack.sparklayer.state(SITE_ENV, OURS.site_id)["stock"]}
            for change in waiting:
                if stock.get((change.sku, STOCK_LOCATION)) == change.level:
                    change.written_at = now

    def wait(self, changes: list[StockChange], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(c.written_at is not None for c in changes):
                return True
            time.sleep(0.2)
        return False

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _partial_runs(stack: BenchStack) -> dict[str, Any]:
    """How many partial_sync runs there were and where their time went: queued (sensor request to
    the run's process starting) and running (process start to finish)."""
    with connect(stack.dagster_url) as conn:
        rows = conn.execute(
            "select extract(epoch from create_timestamp) as created, start_time, end_time from runs "
            "where pipeline_name = 'partial_sync' and start_time is not null and end_time is not null"
        ).fetchall()
    if not rows:
        return {"runs": 0}
    queued = sorted(float(r["start_time"]) - float(r["created"]) for r in rows)
    running = sorted(float(r["end_time"]) - float(r["start_time"]) for r in rows)
    return {"runs": len(rows), "queued_s_p50": round(percentile(queued, 0.5), 2),
            "running_s_p50": round(percentile(running, 0.5), 2)}


def partial_text(step: dict[str, Any]) -> str:
    delay, lone = step["delay_s"], step["isolated"]
    return "\n".join([
        "== partial-latency ==",
        f"stock changes (signed webhooks)  {step['changes']}, one every {step['interval_s']} s; "
        f"sensor interval {step['sensor_interval_s']} s, runs linger {step['linger_s']} s",
        f"written to SparkLayer            {step['written']}",
        f"webhook -> SparkLayer delay      p50 {delay.get('p50')} s, p95 {delay.get('p95')} s, max {delay.get('max')} s",
        f"isolated changes                 {lone['changes']}, each once no partial sync was running; "
        f"{lone['written']} written",
        f"webhook -> SparkLayer delay      p50 {lone['delay_s'].get('p50')} s, p95 {lone['delay_s'].get('p95')} s, "
        f"max {lone['delay_s'].get('max')} s",
        f"partial_sync runs                {step['partial_runs'].get('runs')}: median "
        f"{step['partial_runs'].get('queued_s_p50')} s from request to process start, "
        f"{step['partial_runs'].get('running_s_p50')} s running",
        f"first change after the daemon started: {step['warmup_delay_s']} s",
    ])
