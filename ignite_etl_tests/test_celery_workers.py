"""The distributed path on a real broker: full syncs whose steps run on two `ignite-etl worker` processes that
share nothing but RabbitMQ and Postgres.

Needs RabbitMQ on 127.0.0.1:5672 (guest/guest), as on the development machines and in CI. Elsewhere these tests
skip; start one with `apt-get install rabbitmq-server && rabbitmq-server -detached`, or point
IGNITE_TEST_CELERY_BROKER_URL at another broker. Each test gets a RabbitMQ virtual host of its own where
`rabbitmqctl` may create one, so nothing left in a queue by another run reaches these workers.
"""

from __future__ import annotations

import os
import socket
from concurrent.futures import ThreadPoolExecutor

import dagster as dg
import pytest

from ignite_etl.bench.celery_workers import CeleryWorkers, isolated_vhost
from ignite_etl.bench.stack import BenchStack
from ignite_etl.faults.harness import FaultStack, compare
from ignite_etl.platforms.marketplacer.client import RATE_LIMIT

ADVERTS = 40
RATE_SHARE = 0.01  # 6 requests per 10 s for the store: fewer than the syncs need
NO_COMPUTE_LOGS = """
# Steps run on other machines: their stdout is not captured to this instance's local disk.
compute_logs:
  module: dagster.core.storage.noop_compute_log_manager
  class: NoOpComputeLogManager
"""

pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def broker_url():
    configured = os.environ.get("IGNITE_TEST_CELERY_BROKER_URL")
    if not configured:
        try:
            socket.create_connection(("127.0.0.1", 5672), timeout=1).close()
        except OSError:
            pytest.skip("needs RabbitMQ on 127.0.0.1:5672: apt-get install rabbitmq-server && rabbitmq-server "
                        "-detached (or set IGNITE_TEST_CELERY_BROKER_URL)")
    with isolated_vhost(configured or "amqp://guest:guest@127.0.0.1:5672//") as url:
        yield url


@pytest.fixture
def distributed(pg_server_url, broker_url):
    """A bench stack whose runs send their steps to the broker; its store allows exactly the request budget
    our syncs may use together."""
    env = {"IGNITE_CELERY_BROKER_URL": broker_url, "IGNITE_PLATFORM_RATE_SHARE": str(RATE_SHARE)}
    with BenchStack(pg_server_url, adverts=ADVERTS, tenants=3, latency_ms=0, env=env) as bench:
        with open(bench.dagster_home / "dagster.yaml", "a") as instance_yaml:
            instance_yaml.write(NO_COMPUTE_LOGS)
        budget = int(RATE_LIMIT.requests * RATE_SHARE)
        bench.marketplacer.set_rate_limit(per_key=budget, per_ip=budget, per_operator=budget,
                                          window_seconds=RATE_LIMIT.window_seconds)
        yield bench, FaultStack(bench), budget


def _in_process(bench: BenchStack, faults: FaultStack) -> dict:
    """The reference: the same store synced with every step in the run's own process."""
    broker = bench.env.pop("IGNITE_CELERY_BROKER_URL")
    try:
        return faults.reference()
    finally:
        bench.env["IGNITE_CELERY_BROKER_URL"] = broker


def _worker_of_each_step(instance: dg.DagsterInstance, run_id: str) -> dict[str, str]:
    """Step key -> the Celery worker that ran it, from the run's engine events."""
    return {entry.step_key: entry.dagster_event.engine_event_data.metadata["Celery worker"].value
            for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)
            if entry.step_key and entry.dagster_event and "in celery worker" in (entry.dagster_event.message or "")}



def test_full_syncs_of_several_stores_run_every_step_on_the_workers(distributed):
    bench, faults, budget = distributed
    reference = _in_process(bench, faults)

    with CeleryWorkers(bench.worker_env(), count=2, concurrency=2) as workers:
        with ThreadPoolExecutor(len(bench.tenants)) as pool:
            attempts = list(pool.map(faults.full_sync, bench.tenants))
        pools = {worker.name: worker.child_pids() for worker in workers.workers}

    assert all(attempt.succeeded for attempt in attempts), [a.result for a in attempts]
    instance = faults.instance
    used = set()
    for site, attempt in zip(bench.tenants, attempts):
        run_id = attempt.result["run_id"]
        ran_on = _worker_of_each_step(instance, run_id)
        assert set(ran_on) == set(faults.steps), f"steps not run on a worker in {site.site_id}"
        used |= set(ran_on.values())
        # Each step started in a pool process of the worker its engine event names.
        for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_START):
            assert entry.dagster_event is not None
            assert entry.dagster_event.pid in pools[ran_on[entry.step_key]], entry.step_key
        # The same SparkLayer site as an in-process sync of the same store: nothing lost, nothing extra.
        assert compare(reference, faults.view(site)) == (0, 0), site.site_id
        runs = instance.get_runs(filters=dg.RunsFilter(tags={"ignite/connection": site.connection_id}))
        assert len(runs) == 1
    assert used == set(pools), "both workers took steps"
    # Every run shared one request budget for the store: it was needed, and never exceeded.
    assert bench.marketplacer.graphql_requests > budget
    assert bench.marketplacer.throttled_requests == 0


def test_a_worker_lost_mid_step_hands_the_step_to_the_other_and_the_sync_converges(distributed):
    bench, faults, _ = distributed
    site = faults.site("worker-lost")
    lost = []

    with CeleryWorkers(bench.worker_env(), count=2, concurrency=1) as workers:
        faults.reference()  # what a sync through the workers gives without faults
        # the products load (40 adverts, 8 at a time) takes 1.5 s or more, so the kill 0.3 s in finds it running:
        # at 0.05 s it could finish before the kill on a busy machine, and nothing was handed over
        bench.sparklayer.set_faults(latency_seconds=0.3)

        def lose_the_step_s_worker(_run_process) -> None:
            run = faults.instance.get_runs(filters=dg.RunsFilter(tags={"ignite/connection": site.connection_id}), limit=1)[0]
            name = _worker_of_each_step(faults.instance, run.run_id)["sparklayer_products"]
            lost.append(name)
            workers.kill(workers.by_name(name))

        attempt = faults.full_sync(site, at_step="sparklayer_products", after=0.3, act=lose_the_step_s_worker)
        survivor = next(worker.name for worker in workers.workers if worker.name not in lost)

    assert attempt.killed_in == "sparklayer_products" and lost
    assert attempt.succeeded, attempt.result
    assert _worker_of_each_step(faults.instance, attempt.result["run_id"])["sparklayer_products"] == survivor
    outcome = faults.measure("worker lost", "SIGKILL", site, 0.0)
    assert (outcome.lost, outcome.duplicated) == (0, 0)
