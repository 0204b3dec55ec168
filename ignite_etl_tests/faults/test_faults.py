"""The fault suite's scenarios at a small size, against the real stack: run workers in their own
processes, `ignite-etl ingress`, both simulators, Postgres. Each must converge with nothing lost or
duplicated (`ignite-etl faults` runs them all, larger, and writes RELIABILITY.md)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from ignite_etl.bench.stack import BenchStack
from ignite_etl.faults import ingress_scenarios, lifecycle_scenarios, sync_scenarios
from ignite_etl.faults.harness import FaultStack, Outcome
from ignite_etl.store.embedded import EmbeddedPostgres

ADVERTS = 40


@pytest.fixture(scope="module")
def stack(pg_server_url):
    with BenchStack(pg_server_url, adverts=ADVERTS, seed=3, latency_ms=0) as bench:
        faults = FaultStack(bench)
        faults.reference()
        yield faults


def converged(outcome: Outcome) -> None:
    assert (outcome.converged, outcome.lost, outcome.duplicated) == (True, 0, 0), outcome


def test_the_reference_sync_wrote_the_store_and_names_the_steps(stack):
    reference = stack.reference()

    assert len(reference["products"]) > 10 and reference["variants"] and reference["stock"] and reference["prices"]
    assert {"platform_catalogue", "product_changes", "sparklayer_products"} <= set(stack.steps)


@pytest.mark.parametrize("step", ["platform_catalogue", "sparklayer_products"])  # `ignite-etl faults`: every step
@pytest.mark.timeout(300)
def test_a_run_worker_killed_in_a_step_converges_on_the_next_run(stack, step):
    outcome = sync_scenarios.worker_killed(stack, step)

    converged(outcome)
    assert outcome.note == ""  # the kill landed inside the step


@pytest.mark.timeout(300)
def test_sparklayer_down_then_back(stack):
    converged(sync_scenarios.sparklayer_down(stack, seconds=3))


@pytest.mark.timeout(300)
def test_a_429_storm_slows_the_sync_but_it_completes(stack):
    converged(sync_scenarios.sparklayer_429_storm(stack))


@pytest.mark.timeout(300)
def test_tokens_revoked_mid_sync(stack):
    outcome = sync_scenarios.sparklayer_tokens_revoked(stack)

    converged(outcome)
    assert not outcome.note.startswith("0 token")  # tokens were in fact revoked during the sync


@pytest.mark.timeout(300)
def test_the_platform_answering_503_with_retry_after_zero(stack):
    outcome = sync_scenarios.platform_retry_after_zero(stack, failures=5)

    converged(outcome)
    assert stack.marketplacer.failed_requests >= 5


@pytest.mark.timeout(300)
def test_the_ingress_killed_while_receiving_webhooks_loses_and_doubles_nothing(stack):
    outcome = ingress_scenarios.ingress_killed(stack, 300)

    converged(outcome)
    assert "2 round(s)" in outcome.note or "3 round(s)" in outcome.note  # the kill cut the first round short


@pytest.mark.timeout(300)
def test_two_ingress_processes_given_the_same_deliveries_queue_each_once(stack):
    outcome = ingress_scenarios.two_ingresses_same_deliveries(stack, 200)

    converged(outcome)
    queued = [int(part.split()[-1].replace(",", "")) for part in outcome.note.split(";")[0].split(", ")]
    assert sum(queued) == 200  # every event queued by exactly one of the two


@pytest.mark.timeout(300)
def test_duplicate_replayed_and_shuffled_deliveries_are_queued_once(stack):
    converged(ingress_scenarios.duplicates_replays_out_of_order(stack, 60))


@pytest.mark.timeout(300)
def test_a_full_disk_refuses_deliveries_with_503_and_loses_none(stack):
    outcome = ingress_scenarios.disk_full(stack, 60, seconds=1)

    converged(outcome)
    assert "[503]" in outcome.note


@pytest.mark.timeout(300)
def test_huge_and_endless_headers_leave_the_ingress_healthy_with_flat_memory(stack):
    outcome = ingress_scenarios.hostile_clients(stack, big=4, slow=20, header_mib=8)

    converged(outcome)
    assert "20/20 slow connections closed" in outcome.note


@pytest.mark.timeout(300)
def test_a_removal_whose_run_dies_is_retried_and_removes_everything(stack):
    outcome = lifecycle_scenarios.removal_fails_then_succeeds(stack, wait_for_retry=False)

    assert outcome.converged, outcome
    assert "left behind: 0 row(s), 0 sync log(s)" in outcome.note


@pytest.mark.timeout(300)
def test_a_partial_sync_killed_after_its_first_write_is_finished_by_the_next(stack):
    outcome = sync_scenarios.partial_sync_killed(stack, changes=8)

    converged(outcome)
    assert outcome.note == ""  # killed mid-run, with writes left to do


@pytest.mark.timeout(400)
def test_postgres_restarted_mid_sync():
    folder = Path(tempfile.mkdtemp(prefix="ignite-faults-pg-"))
    server = EmbeddedPostgres(folder / "pgdata").start()  # its data survives the restart

    def restart() -> None:
        server.stop()
        server.start()

    try:
        with BenchStack(server.url("postgres"), adverts=ADVERTS, seed=4, latency_ms=0) as bench:
            outcome = sync_scenarios.postgres_restarted(FaultStack(bench, restart_postgres=restart),
                                                        "sparklayer_products")
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)

    converged(outcome)
