"""The `dev` command's configuration logic, and one real start and stop of the stack."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ignite_etl import devstack
from ignite_etl.settings import Settings
from ignite_etl.store.database import connect, database_name


def test_configured_database_is_used_and_no_server_is_started(tmp_path, make_database):
    app_url = make_database("ignite_dev")
    settings = Settings.from_env({"IGNITE_DATABASE_URL": app_url}, cwd=tmp_path)
    databases = devstack.open_databases(settings)
    try:
        assert databases.embedded is None
        assert databases.app_url == app_url
        assert database_name(databases.dagster_url) == "dagster"
        with connect(databases.dagster_url) as conn:  # the default Dagster database now exists
            conn.execute("select 1")
        assert not (tmp_path / ".ignite" / "pgdata").exists()
    finally:
        databases.release()


def test_stack_environment_carries_resolved_urls_key_and_dagster_home(tmp_path):
    settings = Settings.from_env({"IGNITE_SENSOR_INTERVAL_SECONDS": "5"}, cwd=tmp_path)
    databases = devstack.Databases("postgresql://a@/ignite?host=/s", "postgresql://a@/dagster?host=/s")
    stack = devstack.plan(settings, databases, {"PATH": os.environ["PATH"]}, ui_port=3999)

    env = stack.env
    assert env["IGNITE_DATABASE_URL"] == databases.app_url
    assert env["IGNITE_DAGSTER_DATABASE_URL"] == "postgresql+psycopg2://a@/dagster?host=/s"
    assert env["IGNITE_SECRET_KEY"] == (tmp_path / ".ignite" / "secret.key").read_text().strip()
    assert env["IGNITE_SENSOR_INTERVAL_SECONDS"] == "5"
    dagster_home = Path(env["DAGSTER_HOME"])
    assert dagster_home == tmp_path / ".ignite" / "dagster"
    assert (dagster_home / "dagster.yaml").read_text() == devstack.INSTANCE_YAML.read_text()

    (dagster,) = [p for p in stack.processes if p.name == "dagster"]
    assert dagster.argv[1:3] == ["dev", "-w"]
    assert dagster.argv[-2:] == ["-p", "3999"]
    assert dagster.cwd == dagster_home


def test_the_stack_runs_the_ingress_and_the_sandbox_whose_demo_store_connects_through_it(tmp_path):
    settings = Settings.from_env({}, cwd=tmp_path)
    databases = devstack.Databases("postgresql://a@/x", "postgresql://a@/y")
    stack = devstack.plan(settings, databases, {}, ingress_port=9100)

    assert [p.name for p in stack.processes] == ["dagster", "ingress", "sandbox"]
    assert stack.env["IGNITE_PUBLIC_URL"] == "http://127.0.0.1:9100"
    assert stack.env["SPARKLAYER_API_URL"] == "http://127.0.0.1:9101/{site_env}"
    token = (tmp_path / ".ignite" / "ingress.token").read_text().strip()
    assert len(token) >= 32 and stack.env["IGNITE_INGRESS_TOKEN"] == token
    ingress = stack.processes[1].argv
    assert ingress[-3:] == ["ingress", "--port", "9100"]
    sandbox = stack.processes[2].argv
    assert sandbox[sandbox.index("--connect-demo") + 1] == "http://127.0.0.1:9100"
    assert sandbox[sandbox.index("--marketplacer-port") + 1] == "9102"


def test_a_configured_sparklayer_means_no_sandbox_and_a_configured_public_url_is_kept(tmp_path):
    environ = {"SPARKLAYER_API_URL": "https://test.app.sparklayer.io", "IGNITE_PUBLIC_URL": "https://ignite.example",
               "IGNITE_INGRESS_TOKEN": "t" * 40}
    settings = Settings.from_env(environ, cwd=tmp_path)
    databases = devstack.Databases("postgresql://a@/x", "postgresql://a@/y")
    stack = devstack.plan(settings, databases, environ)

    assert [p.name for p in stack.processes] == ["dagster", "ingress"]
    assert stack.env["SPARKLAYER_API_URL"] == "https://test.app.sparklayer.io"
    assert stack.env["IGNITE_PUBLIC_URL"] == "https://ignite.example"
    assert stack.env["IGNITE_INGRESS_TOKEN"] == "t" * 40
    assert not (tmp_path / ".ignite" / "ingress.token").exists()


def test_a_configured_broker_adds_two_workers_to_the_stack(tmp_path):
    environ = {"IGNITE_CELERY_BROKER_URL": "amqp://guest:guest@127.0.0.1:5672//"}
    settings = Settings.from_env(environ, cwd=tmp_path)
    databases = devstack.Databases("postgresql://a@/x", "postgresql://a@/y")

    stack = devstack.plan(settings, databases, environ)

    workers = [p for p in stack.processes if p.name.startswith("worker-")]
    assert [w.argv[w.argv.index("--name") + 1] for w in workers] == ["worker-1@%h", "worker-2@%h"]
    assert all(w.argv[3] == "worker" for w in workers)
    assert stack.env["IGNITE_CELERY_BROKER_URL"] == environ["IGNITE_CELERY_BROKER_URL"]
    assert stack.env["IGNITE_SECRET_KEY"]  # a worker refuses to start without the key the code location uses
    assert not [p for p in devstack.plan(Settings.from_env({}, cwd=tmp_path), databases, {}).processes
                if p.name.startswith("worker-")]


def test_explicit_dagster_home_is_respected(tmp_path):
    settings = Settings.from_env({}, cwd=tmp_path)
    databases = devstack.Databases("postgresql://a@/x", "postgresql://a@/y")
    stack = devstack.plan(settings, databases, {"DAGSTER_HOME": str(tmp_path / "dh")})
    assert stack.env["DAGSTER_HOME"] == str(tmp_path / "dh")
    assert (tmp_path / "dh" / "dagster.yaml").exists()


def test_unreachable_database_is_one_clear_line_from_the_cli(tmp_path):
    env = {**os.environ, "IGNITE_DATABASE_URL": "postgresql://ignite:pw@127.0.0.1:1/ignite", "IGNITE_HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "ignite_etl.cli", "db", "upgrade"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("ignite-etl: error: cannot reach the database")
    assert "Traceback" not in result.stderr and ":pw@" not in result.stderr


def _postmasters_for(pgdata: Path) -> list[str]:
    out = subprocess.run(["ps", "-ww", "-eo", "args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if str(pgdata) in line and "postgres" in line]


@pytest.mark.timeout(400)
def test_dev_brings_up_the_stack_syncs_the_demo_store_and_ctrl_c_stops_everything(tmp_path):
    port, ingress_port = _free_port(), _free_port_run(4)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IGNITE_", "DAGSTER_", "SPARKLAYER_"))}
    env["IGNITE_HOME"] = str(tmp_path / "home")
    env["IGNITE_SENSOR_INTERVAL_SECONDS"] = "2"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ignite_etl.cli", "dev", "--port", str(port), "--ingress-port", str(ingress_port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        status = _wait_for_location(port, proc, timeout=180)
        assert status == {"name": "ignite_etl", "loadStatus": "LOADED", "error": None}
        assert _postmasters_for(tmp_path / "home" / "pgdata"), "the embedded server should be running"
        assert httpx.get(f"http://127.0.0.1:{ingress_port}/healthz", timeout=5).json()["database"] == "ok"
        # the demo store connects through the ingress; the daemon's lifecycle sensor completes it and
        # its full sync fills the SparkLayer simulator
        site = _wait_for_synced_site(ingress_port + 1, "test/demo-store", "marketplacer", proc, timeout=240)
        assert len(site["products"]) > 0 and len(site["variants"]) >= len(site["products"])
        # the demo site starts with no stock location, like a real one: the sync created it, then wrote stock
        assert list(site["stock_locations"]) == ["marketplacer"] and site["stock"]
        # the demo Shopify shop installed the app from its app store; the registration made its site, which
        # SparkLayer's simulated dashboard connected, and the shop's full sync filled it
        shop_site = _wait_for_synced_site(ingress_port + 1, "live/demo-kettles", "shopify", proc, timeout=240)
        assert len(shop_site["products"]) > 0 and shop_site["price_lists"]["shopify-price"]["name"] == "Shopify Price"
        assert len(shop_site["stock_locations"]) == 2 and shop_site["stock"]
        # its B2B customers and its company's contacts, not its retail customer (the orders follow with the
        # orders pass, every 2 minutes here)
        customers = _wait_for(lambda: {c["email"] for c in _site(ingress_port + 1, "live/demo-kettles")["customers"]
                                       .values()} or None, proc, timeout=60)
        assert customers == {"ada@engines.example", "grace@cobol.example", "jean@cobol.example"}
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    deadline = time.monotonic() + 15
    while _postmasters_for(tmp_path / "home" / "pgdata") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _postmasters_for(tmp_path / "home" / "pgdata") == []
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/server_info", timeout=2)


_LOCATION_QUERY = """
{ workspaceOrError { ... on Workspace { locationEntries {
    name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }
"""


def _wait_for_location(port: int, proc: subprocess.Popen, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"ignite-etl dev exited early with {proc.returncode}")
        try:
            data = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": _LOCATION_QUERY}, timeout=5).json()
            (entry,) = data["data"]["workspaceOrError"]["locationEntries"]
            last = {
                "name": entry["name"],
                "loadStatus": entry["loadStatus"],
                "error": (entry["locationOrLoadError"] or {}).get("message"),
            }
            if entry["loadStatus"] == "LOADED":
                return last
        except (httpx.TransportError, KeyError, ValueError):
            pass
        time.sleep(1)
    raise AssertionError(f"the code location did not load in {timeout}s; last status {last}")


def _wait_for_synced_site(sparklayer_port: int, site_path: str, platform: str, proc: subprocess.Popen,
                          timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"ignite-etl dev exited early with {proc.returncode}")
        try:
            site = httpx.get(f"http://127.0.0.1:{sparklayer_port}/_sandbox/sites/{site_path}", timeout=5).json()
            if site.get("sync_logs", {}).get(f"{platform}/products", {}).get("last_full_sync"):
                return site
        except (httpx.TransportError, ValueError):
            pass
        time.sleep(2)
    raise AssertionError(f"the full sync of {site_path} did not finish in {timeout}s")


def _free_port_run(length: int) -> int:
    """The first of `length` consecutive free ports (the ingress and the two simulators)."""
    import socket

    for _ in range(50):
        first = _free_port()
        sockets = []
        try:
            for offset in range(length):
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", first + offset))
            return first
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no run of free ports")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _site(sparklayer_port: int, site_path: str) -> dict:
    return httpx.get(f"http://127.0.0.1:{sparklayer_port}/_sandbox/sites/{site_path}", timeout=5).json()


def _wait_for(probe, proc: subprocess.Popen, timeout: float):
    """`probe()` once it is truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"ignite-etl dev exited early with {proc.returncode}")
        try:
            found = probe()
            if found:
                return found
        except (httpx.TransportError, KeyError, ValueError):
            pass
        time.sleep(1)
    raise AssertionError(f"nothing came in {timeout}s")
