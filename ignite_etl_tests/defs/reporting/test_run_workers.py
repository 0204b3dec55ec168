"""`run_worker_watch` on a real instance: a run whose worker process was killed is marked failed; a run
whose worker lives, or that has not reported a worker yet, is left alone."""

from __future__ import annotations

import subprocess
import sys
import time

import dagster as dg
import pytest

from ignite_etl.defs.reporting.run_workers import fail_runs_whose_worker_died, worker_pid

STARTED = dg.DagsterRunStatus.STARTED


@dg.op
def wait_a_while() -> None:
    time.sleep(60)


@dg.job
def slow_job():
    wait_a_while()


def slow() -> dg.JobDefinition:
    return slow_job


RUNNER = """
import sys, dagster as dg
from ignite_etl_tests.defs.reporting import test_run_workers as module
with dg.DagsterInstance.from_config(sys.argv[1]) as instance:
    dg.execute_job(dg.reconstructable(module.slow), instance=instance)
"""


@pytest.fixture
def instance(tmp_path):
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        yield instance


def started_run(instance: dg.DagsterInstance, worker: subprocess.Popen) -> dg.DagsterRun:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        runs = instance.get_runs(filters=dg.RunsFilter(statuses=[STARTED]))
        if runs and worker_pid(instance, runs[0].run_id) is not None:
            return runs[0]
        assert worker.poll() is None, "the run worker exited early"
        time.sleep(0.1)
    raise TimeoutError("the run did not start")


def test_a_run_whose_worker_was_killed_is_marked_failed_and_a_living_one_is_not(instance, tmp_path):
    worker = subprocess.Popen([sys.executable, "-c", RUNNER, str(tmp_path)])
    try:
        run = started_run(instance, worker)
        assert worker_pid(instance, run.run_id) == worker.pid

        assert fail_runs_whose_worker_died(instance) == []  # alive: left alone
        worker.kill()
        worker.wait()
        failed = fail_runs_whose_worker_died(instance)
    finally:
        if worker.poll() is None:
            worker.kill()

    assert failed == [run.run_id]
    assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE
    assert fail_runs_whose_worker_died(instance) == []  # once


def test_a_started_run_without_a_reported_worker_is_left_alone(instance):
    run = instance.create_run_for_job(job_def=slow_job, status=STARTED)

    assert fail_runs_whose_worker_died(instance, is_alive=lambda pid: False) == []
    assert instance.get_run_by_id(run.run_id).status == STARTED
