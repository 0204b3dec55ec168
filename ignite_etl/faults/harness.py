"""What a fault scenario runs against: the benchmark stack (fresh databases, a Dagster instance, both
simulators with a generated store), a fresh SparkLayer site and connection per scenario, a reference
site synced without faults, and the measures every scenario reports."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from ignite_etl.bench.stack import SITE_ENV, BenchStack, Site
from ignite_etl.bench.worker import RESULT_PREFIX
from ignite_etl.defs.reporting.run_workers import fail_runs_whose_worker_died
from ignite_etl.store.cipher import CredentialCipher
from ignite_etl.store.connections import save_connection
from ignite_etl.store.database import connect

PRICE_LIST = "marketplacer-price"


@dataclass
class Outcome:
    """One row of the fault table."""

    scenario: str
    injected: str
    converged: bool
    lost: int
    duplicated: int
    recover_s: float | None
    note: str = ""


@dataclass
class SyncAttempt:
    returncode: int | None
    killed_in: str | None = None
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return self.returncode == 0 and bool(self.result.get("success"))


def catalogue_view(state: dict[str, Any]) -> dict[str, dict]:
    """What a merchant's buyers see of a SparkLayer site, keyed by record: compared field by field."""
    return {
        "products": {k: (p.get("title"), p.get("slug")) for k, p in state["products"].items()},
        "variants": {k: (v.get("sku"), v.get("status"), v.get("product_external_id")) for k, v in state["variants"].items()},
        "stock": {f"{s['sku']}@{s['stock_location_external_id']}": s["stock_level"] for s in state["stock"]},
        "prices": {sku: json.dumps(breaks, sort_keys=True, default=str)
                   for sku, breaks in (state["pricing"].get(PRICE_LIST) or {}).items()},
        "customers": {k: c.get("email") for k, c in state["customers"].items()},
    }


def compare(expected: dict[str, dict], actual: dict[str, dict]) -> tuple[int, int]:
    """(records missing or different, records that should not be there)."""
    lost = sum(1 for part, records in expected.items() for key, value in records.items()
               if actual.get(part, {}).get(key) != value)
    extra = sum(1 for part, records in actual.items() for key in records if key not in expected.get(part, {}))
    return lost, extra


def _sigkill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)


class FaultStack:
    """The stack and its measures; one `site()` per scenario."""

    def __init__(self, bench: BenchStack, *, restart_postgres: Callable[[], None] | None = None):
        self.bench = bench
        self.restart_postgres = restart_postgres
        self._cipher = CredentialCipher(bench.secret_key)
        self._reference: dict[str, dict] | None = None
        self.steps: list[str] = []
        self._instance: dg.DagsterInstance | None = None

    @property
    def sparklayer(self):
        return self.bench.sparklayer

    @property
    def marketplacer(self):
        return self.bench.marketplacer

    # --- sites ------------------------------------------------------------------------------------

    def site(self, name: str) -> Site:
        """A new SparkLayer site connected to the generated store."""
        site = Site(f"{name}-{uuid.uuid4().hex[:6]}", f"client-{name}", uuid.uuid4().hex)
        self.sparklayer.add_site(SITE_ENV, site.site_id, site.client_id, site.client_secret)
        with connect(self.bench.app_url) as conn:
            save_connection(
                conn, self._cipher, site_env=SITE_ENV, site_id=site.site_id, platform="marketplacer",
                status="connected", sparklayer_credentials={"client_id": site.client_id, "client_secret": site.client_secret},
                platform_config=self.bench.platform_config, platform_secrets=self.bench.platform_secrets,
            )
        return site

    def view(self, site: Site) -> dict[str, dict]:
        return catalogue_view(self.sparklayer.state(SITE_ENV, site.site_id))

    def reference(self) -> dict[str, dict]:
        """The site a full sync without faults gives, and the order of the sync's steps."""
        if self._reference is None:
            site = self.site("reference")
            attempt = self.full_sync(site)
            if not attempt.succeeded:
                raise RuntimeError("the reference sync failed: the stack is broken, not the fault handling")
            run_id = attempt.result["run_id"]
            stats = sorted(self.instance.get_run_step_stats(run_id), key=lambda s: s.start_time or 0)
            self.steps = [s.step_key for s in stats]
            self._reference = self.view(site)
        return self._reference

    def forget_reference(self) -> None:
        """The store changed (a scenario edited it): the next `reference()` syncs a fresh site."""
        self._reference = None

    def measure(self, scenario: str, injected: str, site: Site, recovered_from: float, note: str = "") -> Outcome:
        """Compare the site with the reference once recovery ended; `recovered_from` is when the fault ended."""
        lost, extra = compare(self.reference(), self.view(site))
        created = sum(e.item_count for e in self.sparklayer.journal(env=SITE_ENV, site_id=site.site_id)
                      if e.method == "POST" and e.path.endswith("/products") and 200 <= e.status < 300)
        duplicated = extra + max(0, created - len(self.view(site)["products"]))
        return Outcome(scenario, injected, lost == 0 and duplicated == 0, lost, duplicated,
                       round(time.monotonic() - recovered_from, 1), note)

    # --- runs -------------------------------------------------------------------------------------

    @property
    def instance(self) -> dg.DagsterInstance:
        """The benchmark's Dagster instance, as the sync workers see it."""
        if self._instance is None:
            name = "IGNITE_DAGSTER_DATABASE_URL"  # what dagster.yaml reads, only while it is read
            before = os.environ.get(name)
            os.environ[name] = self.bench.worker_env()[name]
            try:
                self._instance = dg.DagsterInstance.from_config(str(self.bench.dagster_home))
            finally:
                if before is None:
                    del os.environ[name]
                else:
                    os.environ[name] = before
        return self._instance

    def full_sync(self, site: Site, *, at_step: str | None = None, after: float = 0.3,
                  act: Callable[[subprocess.Popen], None] | None = None) -> SyncAttempt:
        """A full sync in its own process, as a launched run's worker. With `at_step`, `act` (default: SIGKILL
        the worker) is done `after` seconds into that step."""
        when = None if at_step is None else self._step_started(site, at_step, after)
        return self._run("sync", site, when, act, at_step)

    def removal(self, site: Site, run_config: dict, tags: dict[str, str], *,
                kill_when: Callable[[], bool] | None = None) -> SyncAttempt:
        """The removal run the lifecycle sensor asked for, in its own process; SIGKILLed once `kill_when`."""
        return self._run("removal", site, kill_when, None, "delete_connection_data" if kill_when else None,
                         {"run_config": run_config, "tags": tags})

    def partial_sync(self, site: Site, *, kill_after_writes: int | None = None) -> SyncAttempt:
        """A partial sync of the site's queued changes in its own process; SIGKILLed once SparkLayer has
        taken `kill_after_writes` of its writes."""
        when = None
        if kill_after_writes is not None:
            mark = self.journal_mark(site)
            when = lambda: self.writes_since(site, mark) >= kill_after_writes  # noqa: E731
        return self._run("partial", site, when, None, "work_off_change_queue" if when else None)

    def journal_mark(self, site: Site) -> int:
        entries = self.sparklayer.journal(env=SITE_ENV, site_id=site.site_id)
        return entries[-1].seq if entries else 0

    def writes_since(self, site: Site, mark: int) -> int:
        return sum(1 for e in self.sparklayer.journal(env=SITE_ENV, site_id=site.site_id)
                   if e.seq > mark and e.method in ("POST", "PATCH", "PUT") and "/sync-log" not in e.path
                   and 200 <= e.status < 300)

    def _run(self, kind: str, site: Site, when: Callable[[], bool] | None,
             act: Callable[[subprocess.Popen], None] | None, label: str | None,
             params: dict[str, Any] | None = None) -> SyncAttempt:
        log_path = self.bench.workdir / f"{kind}-{site.site_id}-{time.monotonic_ns()}.log"
        env = {**self.bench.worker_env(), "IGNITE_QUEUE_LINGER_SECONDS": "0", "IGNITE_QUEUE_RETRY_SECONDS": "0"}
        with open(log_path, "wb") as stderr:
            proc = subprocess.Popen([sys.executable, "-m", "ignite_etl.bench.worker", kind],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                                    env=env, cwd=self.bench.workdir)
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(json.dumps(params or {"connection_id": site.connection_id}).encode())
            proc.stdin.close()
            acted = None
            if when is not None:
                acted = label if self._when(proc, when, act or _sigkill) else None
            output = proc.stdout.read().decode()
            proc.wait()
        if proc.returncode == -signal.SIGKILL:
            self._after_worker_death()
        lines = [line for line in output.splitlines() if line.startswith(RESULT_PREFIX)]
        result = json.loads(lines[-1][len(RESULT_PREFIX):]) if lines else {}
        return SyncAttempt(proc.returncode, acted, result)

    def _step_started(self, site: Site, step: str, after: float) -> Callable[[], bool]:
        def started() -> bool:
            runs = self.instance.get_runs(filters=dg.RunsFilter(tags={"ignite/connection": site.connection_id}), limit=1)
            if not runs or step not in {e.step_key for e in self.instance.all_logs(
                    runs[0].run_id, of_type=dg.DagsterEventType.STEP_START)}:
                return False
            time.sleep(after)
            return True

        return started

    def _when(self, proc: subprocess.Popen, condition: Callable[[], bool],
              act: Callable[[subprocess.Popen], None]) -> bool:
        """Do `act` once `condition` holds, if the process is still running by then."""
        deadline = time.monotonic() + 300
        while proc.poll() is None and time.monotonic() < deadline:
            if condition():
                if proc.poll() is None:
                    act(proc)
                    return True
                return False
            time.sleep(0.02)
        return False

    def _after_worker_death(self) -> None:
        """What the daemon does once the worker is gone: `run_worker_watch` marks its run failed and run
        monitoring, free_slots_after_run_end_seconds later, frees the run's pool slots."""
        for run_id in fail_runs_whose_worker_died(self.instance):
            self.instance.event_log_storage.free_concurrency_slots_for_run(run_id)

    @contextlib.contextmanager
    def background(self, work: Callable[[], None]) -> Iterator[None]:
        """`work` in a thread for the duration of the block (a fault that goes on while a sync runs)."""
        import threading

        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(0.0):
                work()
                stop.wait(0.3)

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=10)
