"""Sync steps on other machines: the Celery side of Dagster's Celery executor (`dagster-celery`).

With IGNITE_CELERY_BROKER_URL set, every job's steps are Celery tasks on that broker (`defs/executor.py`), and
`ignite-etl worker` processes, on any machine that reaches the broker and Postgres, run them. A worker keeps
nothing on local disk: the step reads and writes the app database and reports to the Dagster instance whose
reference travels with the task. Unset, steps run in the run's own process, as on one machine.

Steps that read a store and steps that write to SparkLayer go to their own queues, so a data team can give each
its own workers (`--queue`). Limits that must hold across machines do not live here: one run per connection is
the run coordinator's tag limit, the SparkLayer pool is Dagster's concurrency pool, and a store's rate limit is a
row of the app database (`platforms/limits.py`).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from typing import Any

DEFAULT_QUEUE = "ignite"
PLATFORM_QUEUE = "ignite.platform"
SPARKLAYER_QUEUE = "ignite.sparklayer"
QUEUES = (DEFAULT_QUEUE, PLATFORM_QUEUE, SPARKLAYER_QUEUE)
QUEUE_TAG = "dagster-celery/queue"
PLATFORM_STEP = {QUEUE_TAG: PLATFORM_QUEUE}
"""Tags of a step that reads a store: it goes to the platform queue."""
SPARKLAYER_STEP = {QUEUE_TAG: SPARKLAYER_QUEUE}
"""Tags of a step that writes to SparkLayer: it goes to the SparkLayer queue."""
BROKER_ENV = "IGNITE_CELERY_BROKER_URL"
RESULT_BACKEND = "rpc://"
"""Step results come back over the broker itself, so a deployment needs nothing but the broker."""

CELERY_SETTINGS: dict[str, Any] = {
    # A step whose worker dies (killed, out of memory, machine gone) is not lost: it is acknowledged only once
    # it has run, so the broker hands it to another worker. Running a step again is safe: creates are
    # written ahead as intents and every load diffs against what SparkLayer last accepted.
    "task_acks_late": True,
    "task_reject_on_worker_lost": True,
    # One step at a time per worker process: a long catalogue extraction never holds a second step back.
    "worker_prefetch_multiplier": 1,
    "task_default_queue": DEFAULT_QUEUE,
    "broker_connection_retry_on_startup": True,
}


def executor_config() -> dict[str, Any]:
    """The Celery executor's configuration: the broker URL stays an environment variable (it may hold a
    password), read where the run and the workers start, never stored with the run."""
    return {"broker": {"env": BROKER_ENV}, "backend": RESULT_BACKEND, "config_source": CELERY_SETTINGS}


def celery_app(broker_url: str):
    """The Celery app of a worker: the executor's own app (same settings, same task), on `broker_url`."""
    from dagster_celery.executor import CeleryExecutor
    from dagster_celery.make_app import make_app
    from dagster_celery.tasks import create_task

    executor = CeleryExecutor.for_cli(broker=broker_url, backend=RESULT_BACKEND, config_source=CELERY_SETTINGS)
    app = make_app(executor.app_args())
    create_task(app)
    return app


def worker_argv(queues: Sequence[str], *, concurrency: int, name: str | None = None,
                loglevel: str = "INFO") -> list[str]:
    """`celery worker` arguments: a node name with this host and process, so a step's events say where it ran."""
    node = name or f"ignite-{os.getpid()}@{socket.gethostname()}"
    return ["worker", "--queues", ",".join(queues), "--concurrency", str(concurrency), "--hostname", node,
            "--loglevel", loglevel, "--prefetch-multiplier", "1", "--without-gossip", "--without-mingle"]


def run_worker(broker_url: str, queues: Sequence[str], *, concurrency: int, name: str | None = None) -> int:
    """Run a worker in this process until it is stopped (SIGTERM finishes the running steps first)."""
    app = celery_app(broker_url)
    app.worker_main(worker_argv(queues, concurrency=concurrency, name=name))
    return 0
