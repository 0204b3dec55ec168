"""The local stack behind `ignite-etl dev`: databases, migrations, DAGSTER_HOME and the processes.

The planning steps are plain functions so tests can check them without starting anything; `run`
supervises the processes and stops all of them, the embedded Postgres last, on Ctrl-C.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ignite_etl.settings import Settings
from ignite_etl.store import migrations
from ignite_etl.store.database import check_database, ensure_database, with_database
from ignite_etl.store.embedded import EmbeddedPostgres

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# The Dagster instance configuration. It lives outside the repository root on purpose: Dagster's CLI
# reads a dagster.yaml in the working directory, and `dagster definitions validate` run from the root
# must work with nothing set.
INSTANCE_YAML = PROJECT_ROOT / "deploy" / "dagster.yaml"
APP_DATABASE = "ignite"
INGRESS_PORT = 8090
DAGSTER_DATABASE = "dagster"


@dataclass
class Databases:
    app_url: str
    dagster_url: str
    embedded: EmbeddedPostgres | None = None

    def release(self) -> None:
        if self.embedded is not None:
            self.embedded.stop()
            self.embedded = None


def open_databases(settings: Settings) -> Databases:
    """The app and Dagster databases: on IGNITE_DATABASE_URL's server when set, else embedded.

    Creates the Dagster database when it is the default one; never starts a server when a URL is set.
    """
    if settings.database_url:
        check_database(settings.database_url)
        if settings.dagster_database_url:
            check_database(settings.dagster_database_url)
            dagster_url = settings.dagster_database_url
        else:
            ensure_database(settings.database_url, DAGSTER_DATABASE)
            dagster_url = with_database(settings.database_url, DAGSTER_DATABASE)
        return Databases(settings.database_url, dagster_url)

    embedded = EmbeddedPostgres(settings.home / "pgdata").start()
    server_url = embedded.url("postgres")
    ensure_database(server_url, APP_DATABASE)
    if settings.dagster_database_url:
        dagster_url = settings.dagster_database_url
    else:
        ensure_database(server_url, DAGSTER_DATABASE)
        dagster_url = embedded.url(DAGSTER_DATABASE)
    return Databases(embedded.url(APP_DATABASE), dagster_url, embedded)


def prepare_dagster_home(settings: Settings, environ: dict[str, str]) -> Path:
    """DAGSTER_HOME (default `.ignite/dagster`) holding the project's deploy/dagster.yaml, kept current."""
    home = Path(environ.get("DAGSTER_HOME") or settings.home / "dagster")
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(INSTANCE_YAML, home / "dagster.yaml")
    return home


def stack_environment(
    settings: Settings, databases: Databases, dagster_home: Path, base: dict[str, str]
) -> dict[str, str]:
    """What every process of the stack sees: resolved URLs and key, so none starts its own server."""
    env = dict(base)
    env.update(
        IGNITE_DATABASE_URL=databases.app_url,
        IGNITE_DAGSTER_DATABASE_URL=dagster_storage_url(databases.dagster_url),
        IGNITE_SECRET_KEY=settings.resolve_secret_key(),
        IGNITE_HOME=str(settings.home),
        DAGSTER_HOME=str(dagster_home),
        IGNITE_SENSOR_INTERVAL_SECONDS=str(settings.sensor_interval_seconds),
        IGNITE_PUBLIC_URL=settings.public_url,
    )
    return env


def dagster_storage_url(url: str) -> str:
    """The Dagster instance URL with its driver named: dagster-postgres needs psycopg2."""
    scheme, sep, rest = url.partition("://")
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+psycopg2://{rest}"
    return url


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: list[str]
    cwd: Path = PROJECT_ROOT


@dataclass
class DevStack:
    env: dict[str, str]
    processes: list[ProcessSpec] = field(default_factory=list)


def environment(settings: Settings, databases: Databases, environ: dict[str, str]) -> dict[str, str]:
    """The environment every ignite-etl process of this machine runs with."""
    return stack_environment(settings, databases, prepare_dagster_home(settings, environ), environ)


def plan(
    settings: Settings, databases: Databases, environ: dict[str, str], *, ui_port: int = 3000,
    ingress_port: int = INGRESS_PORT, sandbox: bool = True,
) -> DevStack:
    """Dagster (webserver + daemon), the ingress, two Celery workers when IGNITE_CELERY_BROKER_URL is set, and,
    unless told otherwise, the simulators with a demo store that connects itself through the ingress, as
    SparkLayer's dashboard would."""
    env = environment(settings, databases, environ)
    ingress_url = f"http://127.0.0.1:{ingress_port}"
    if "IGNITE_PUBLIC_URL" not in environ:
        env["IGNITE_PUBLIC_URL"] = ingress_url  # the platforms' webhooks reach this ingress
    token = settings.resolve_ingress_token()
    if token:
        env["IGNITE_INGRESS_TOKEN"] = token
    bin_dir = Path(sys.executable).parent
    dagster = [str(bin_dir / "dagster")] if (bin_dir / "dagster").exists() else [sys.executable, "-m", "dagster"]
    ignite = [sys.executable, "-m", "ignite_etl.cli"]
    processes = [
        ProcessSpec(
            "dagster",
            [*dagster, "dev", "-w", str(PROJECT_ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(ui_port)],
            cwd=Path(env["DAGSTER_HOME"]),  # Dagster reads a dagster.yaml in its working directory too
        ),
        ProcessSpec("ingress", [*ignite, "ingress", "--port", str(ingress_port)]),
    ]
    if settings.celery_broker_url:  # steps go to the broker: two workers take them, to watch in the UI
        processes += [ProcessSpec(f"worker-{n}", [*ignite, "worker", "--concurrency", "2", "--name", f"worker-{n}@%h"])
                      for n in (1, 2)]
    if sandbox and environ.get("SPARKLAYER_API_URL"):
        log.info("SPARKLAYER_API_URL is set: not starting the sandbox or its demo store")
        sandbox = False
    if sandbox:
        sparklayer_port, marketplacer_port, shopify_port = ingress_port + 1, ingress_port + 2, ingress_port + 3
        env["SPARKLAYER_API_URL"] = f"http://127.0.0.1:{sparklayer_port}/{{site_env}}"
        env["SPARKLAYER_DASHBOARD_URL"] = f"http://127.0.0.1:{sparklayer_port}/dashboard"
        env["SPARKLAYER_DASHBOARD_TOKEN"] = settings.resolve_dashboard_token() or ""
        # the demo apps' credentials: the ingress installs them, the workers refresh tokens and verify webhooks
        from ignite_etl.sandbox.serve import demo_apps_environment

        for name, value in demo_apps_environment(shopify_port).items():
            env.setdefault(name, value)
        env.setdefault("IGNITE_ORDERS_PASS_MINUTES", "2")  # the demo shops' orders show up soon
        processes.append(ProcessSpec("sandbox", [
            *ignite, "sandbox", "--sparklayer-port", str(sparklayer_port),
            "--marketplacer-port", str(marketplacer_port), "--shopify-port", str(shopify_port),
            "--connect-demo", ingress_url,
        ]))
    return DevStack(env=env, processes=processes)


def run(stack: DevStack, databases: Databases) -> int:
    """Start every process; when one exits or we are interrupted, stop the rest, then the database."""
    children: list[tuple[ProcessSpec, subprocess.Popen]] = []

    def _terminate(signum, frame):  # SIGTERM behaves like Ctrl-C
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _terminate)
    # Ctrl-C stops the stack even when we were started with SIGINT ignored (a shell's background job,
    # `nohup`): and with a handler here, the processes we start get the default disposition again.
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    exit_code = 0
    try:
        for spec in stack.processes:
            log.info("starting %s", spec.name)
            children.append(
                (spec, subprocess.Popen(spec.argv, env=stack.env, cwd=spec.cwd, start_new_session=True))
            )
        while True:
            for spec, proc in children:
                code = proc.poll()
                if code is not None:
                    log.error("%s exited with code %s; stopping the stack", spec.name, code)
                    exit_code = code or 1
                    return exit_code
            time.sleep(0.5)
    except KeyboardInterrupt:
        log.info("stopping the stack")
        return exit_code
    finally:
        _stop_all(children)
        databases.release()
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)


def _stop_all(children: list[tuple[ProcessSpec, subprocess.Popen]], grace_seconds: float = 20.0) -> None:
    for _, proc in children:
        if proc.poll() is None:
            _signal_group(proc, signal.SIGINT)
    deadline = time.monotonic() + grace_seconds
    for spec, proc in children:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop in %ss; killing it", spec.name, grace_seconds)
            _signal_group(proc, signal.SIGKILL)
            proc.wait()
        # the group may hold grandchildren (webserver, daemon, code server) that outlive their parent
        _signal_group(proc, signal.SIGKILL)


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def migrate(databases: Databases) -> list[migrations.Migration]:
    return migrations.upgrade(databases.app_url)
