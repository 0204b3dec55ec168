"""The run limits deploy/dagster.yaml ships, applied by Dagster's own run queue (the daemon's
QueuedRunCoordinatorDaemon) on a real instance: never two runs of one connection at once, whatever executor or
machine would run them, and at most `max_concurrent_runs` runs in all. The launcher only records what the queue
hands it, so the test is of the queue and our configuration."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import yaml
from dagster._core.launcher import LaunchRunContext, RunLauncher
from dagster._core.remote_origin import RegisteredCodeLocationOrigin, RemoteJobOrigin, RemoteRepositoryOrigin
from dagster._core.test_utils import create_run_for_test, create_test_daemon_workspace_context, instance_for_test
from dagster._core.workspace.load_target import EmptyWorkspaceTarget
from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import QueuedRunCoordinatorDaemon
from dagster._serdes import ConfigurableClass

from ignite_etl.defs.partitions import CONNECTION_TAG, PARTITION_TAG

DEPLOYED = yaml.safe_load((Path(__file__).parents[1] / "deploy" / "dagster.yaml").read_text())
ORIGIN = RemoteJobOrigin(RemoteRepositoryOrigin(RegisteredCodeLocationOrigin("ignite_etl"), "__repository__"),
                         "full_sync")


class RecordingLauncher(RunLauncher, ConfigurableClass):
    """Launches nothing: records the runs the queue started, in order."""

    launched: list[str] = []

    def __init__(self, inst_data=None):
        self._inst_data = inst_data

    @property
    def inst_data(self):
        return self._inst_data

    @classmethod
    def config_type(cls):
        return {}

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(inst_data)

    def launch_run(self, context: LaunchRunContext) -> None:
        RecordingLauncher.launched.append(context.dagster_run.run_id)

    def terminate(self, run_id: str) -> bool:
        return False


def _dequeue(instance: dg.DagsterInstance) -> None:
    with create_test_daemon_workspace_context(EmptyWorkspaceTarget(), instance) as workspace:
        list(QueuedRunCoordinatorDaemon(interval_seconds=1).run_iteration(workspace))


def test_the_queue_starts_one_run_per_connection_and_at_most_the_deployed_number():
    RecordingLauncher.launched = []
    overrides = {"run_coordinator": DEPLOYED["run_coordinator"], "concurrency": DEPLOYED["concurrency"],
                 "run_launcher": {"module": __name__, "class": "RecordingLauncher"}}
    with instance_for_test(overrides=overrides) as instance:
        queued = {}
        for connection, count in (("test-a", 3), ("test-b", 2), ("test-c", 1), ("test-d", 1), ("test-e", 1)):
            for number in range(count):
                run = create_run_for_test(instance, job_name="full_sync", status=dg.DagsterRunStatus.QUEUED,
                                          remote_job_origin=ORIGIN,
                                          tags={PARTITION_TAG: connection, CONNECTION_TAG: connection})
                queued[run.run_id] = (connection, number)

        _dequeue(instance)
        first = [queued[run_id] for run_id in RecordingLauncher.launched]
        _dequeue(instance)  # nothing changed: nothing more may start

        assert len(first) == DEPLOYED["concurrency"]["runs"]["max_concurrent_runs"] == 4
        assert len({connection for connection, _ in first}) == 4  # four connections, one run each
        assert len(RecordingLauncher.launched) == 4

        # test-a's run ends: the next of test-a may start, and nothing of a connection still running.
        a_run = next(run_id for run_id in RecordingLauncher.launched if queued[run_id][0] == "test-a")
        instance.report_run_failed(instance.get_run_by_id(a_run))
        _dequeue(instance)
        started_now = [queued[run_id] for run_id in RecordingLauncher.launched[4:]]
        running = {queued[run_id][0] for run_id in RecordingLauncher.launched if run_id != a_run}
        assert len(started_now) == 1 and len(running) == len(RecordingLauncher.launched) - 1
