"""`run_worker_watch`: a run whose worker process died on the default, one-machine run launcher is marked
failed at once, so Dagster's run retry and the failure sensors take it from there.

Run monitoring does this by itself only where the run launcher can check a worker's health (Kubernetes,
Docker, ECS); the default launcher cannot, and a worker killed there (the OOM killer, `kill -9`) left its
run STARTED until its `dagster/max_runtime`, holding the store's one run slot for hours. On that launcher
the worker is a process of this machine, whose pid the run's start event carries: with the in-process executor
it runs the steps, with the Celery executor it orchestrates them (a Celery worker that dies hands its step to
another; see ignite_etl/workers.py)."""

from __future__ import annotations

import os
from collections.abc import Callable

import dagster as dg


def worker_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The pid of the process that started the run (its RUN_START event's), if it has started."""
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_START):
        if record.dagster_event is not None and record.dagster_event.pid:
            return record.dagster_event.pid
    return None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def fail_runs_whose_worker_died(instance: dg.DagsterInstance,
                                is_alive: Callable[[int], bool] = pid_alive) -> list[str]:
    """Mark failed every STARTED run whose local worker is gone; the ids of those runs. Does nothing where
    workers are not processes of this machine (any launcher but the default one)."""
    if not isinstance(instance.run_launcher, dg.DefaultRunLauncher):
        return []
    failed = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
        pid = worker_pid(instance, run.run_id)
        if pid is not None and not is_alive(pid):
            instance.report_run_failed(run, f"The run worker (pid {pid}) is gone: killed or out of memory.")
            failed.append(run.run_id)
    return failed


@dg.sensor(
    name="run_worker_watch",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Marks failed a run whose worker process died (on the default run launcher, which run "
    "monitoring cannot check), so the run retry and the sync failure sensors act on it at once.",
)
def run_worker_watch(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    failed = fail_runs_whose_worker_died(context.instance)
    if failed:
        context.log.warning("marked %d run(s) whose worker died as failed: %s", len(failed), ", ".join(failed))
    return dg.SkipReason(f"{len(failed)} run(s) with a dead worker marked failed")
