"""`ignite-etl worker` processes for the benchmarks and tests of the distributed path: each in a working
directory, Dagster home and ignite home of its own, so that they share nothing with each other or with the
run that feeds them but the broker and Postgres."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

READY = b" ready."
"""What a Celery worker logs once it consumes from its queues."""


@dataclass
class Worker:
    name: str
    proc: subprocess.Popen
    home: Path

    @property
    def log(self) -> Path:
        return self.home / "worker.log"

    def child_pids(self) -> set[int]:
        """The pool processes that run its steps (children of the worker's main process)."""
        children = set()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.proc.pid:
                children.add(int(stat.parent.name))
        return children


class CeleryWorkers:
    """`with CeleryWorkers(env, count=2) as workers:` — `env` is the code location's environment with
    IGNITE_CELERY_BROKER_URL set."""

    def __init__(self, env: dict[str, str], *, count: int = 2, concurrency: int = 2, prefix: str = "worker"):
        self.env = env
        self.count = count
        self.concurrency = concurrency
        self.prefix = prefix
        self.workers: list[Worker] = []
        self._root = Path(tempfile.mkdtemp(prefix="ignite-workers-"))

    def __enter__(self) -> CeleryWorkers:
        try:
            for number in range(1, self.count + 1):
                self.workers.append(self._start(f"{self.prefix}-{number}"))
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _start(self, name: str) -> Worker:
        home = self._root / name
        (home / "dagster").mkdir(parents=True)
        env = {**self.env, "DAGSTER_HOME": str(home / "dagster"), "IGNITE_HOME": str(home / "ignite")}
        node = f"{name}@{os.uname().nodename}"
        log = open(home / "worker.log", "wb")  # noqa: SIM115 - the worker's own handle, closed with it
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "ignite_etl.cli", "worker", "--concurrency", str(self.concurrency), "--name", node],
                env=env, cwd=home, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        finally:
            log.close()
        return Worker(node, proc, home)

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        for worker in self.workers:
            while READY not in worker.log.read_bytes():
                if worker.proc.poll() is not None or time.monotonic() > deadline:
                    tail = worker.log.read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"worker {worker.name} did not start:\n{tail}")
                time.sleep(0.1)

    def kill(self, worker: Worker) -> None:
        """SIGKILL the worker and every process of it at once, as when its machine or pod is lost."""
        try:
            os.killpg(worker.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        worker.proc.wait()

    def by_name(self, name: str) -> Worker:
        return next(worker for worker in self.workers if worker.name == name)

    def stop(self) -> None:
        for worker in self.workers:
            if worker.proc.poll() is None:
                os.killpg(worker.proc.pid, signal.SIGTERM)
        for worker in self.workers:
            try:
                worker.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill(worker)


@contextlib.contextmanager
def isolated_vhost(broker_url: str) -> Iterator[str]:
    """`broker_url` on a RabbitMQ virtual host of its own, made with `rabbitmqctl` where that works (a local
    broker, as root), so that nothing another run left in a queue reaches these workers; `broker_url` as it
    is otherwise."""
    parts = urlsplit(broker_url)
    local = parts.scheme in ("amqp", "pyamqp") and parts.hostname in ("127.0.0.1", "localhost")
    vhost = f"ignite-{uuid.uuid4().hex[:8]}"
    if not (local and _rabbitmqctl("add_vhost", vhost)
            and _rabbitmqctl("set_permissions", "-p", vhost, parts.username or "guest", ".*", ".*", ".*")):
        yield broker_url
        return
    try:
        yield urlunsplit(parts._replace(path=f"/{vhost}"))
    finally:
        _rabbitmqctl("delete_vhost", vhost)


def _rabbitmqctl(*args: str) -> bool:
    if shutil.which("rabbitmqctl") is None:
        return False
    try:
        return subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, timeout=60).returncode == 0
    except subprocess.TimeoutExpired:
        return False
