"""A sync killed in the middle (the run process gets SIGKILL) and started again converges."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from ignite_etl_tests.stores import MarketplacerDriver

from .conftest import CONNECTION_ID, SITE_ENV, SITE_ID


def _sync_process(store, secret_key, dagster_home, *extra) -> subprocess.Popen:
    services = store.resources["sync_services"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IGNITE_", "DAGSTER_"))}
    env.update(
        IGNITE_DATABASE_URL=store.database_url,
        IGNITE_SECRET_KEY=secret_key,
        SPARKLAYER_API_URL=services.sparklayer_api_url,
        DAGSTER_HOME=str(dagster_home),
        IGNITE_HOME=str(dagster_home.parent / "ignite-home"),
    )
    return subprocess.Popen(
        [sys.executable, "-m", "ignite_etl.cli", "sync", CONNECTION_ID, *extra],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def _product_creates(store) -> list:
    return [e for e in store.sparklayer.journal(env=SITE_ENV, site_id=SITE_ID)
            if e.method == "POST" and e.path.endswith("/api/v1/products")]


@pytest.fixture
def sync_processes():
    """Start `ignite-etl sync` processes; whatever happens in the test, none outlives it."""
    started: list[subprocess.Popen] = []

    def start(*args) -> subprocess.Popen:
        started.append(_sync_process(*args))
        return started[-1]

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


@pytest.mark.timeout(420)
def test_a_killed_sync_started_again_converges_without_duplicates(connected_store, secret_key, tmp_path,
                                                                  sync_processes):
    store = connected_store
    store.marketplacer.generate(60, seed=21, broken_rate=0.0)
    expected = MarketplacerDriver(store.marketplacer).live()
    store.sparklayer.set_faults(latency_seconds=0.15)  # slow enough to kill mid-load

    first = sync_processes(store, secret_key, tmp_path / "dagster")
    deadline = time.monotonic() + 180
    while len(_product_creates(store)) < 10:
        assert first.poll() is None, first.stdout.read()
        assert time.monotonic() < deadline, "the sync never started writing products"
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)

    created_before_kill = {e.seq for e in _product_creates(store) if e.status == 201}
    assert 0 < len(created_before_kill) < len(expected)
    assert store.sync_log("products").get("started_full_sync")
    assert store.sync_log("products").get("last_full_sync") is None  # not set by a sync that did not finish

    store.sparklayer.set_faults(latency_seconds=0.0)
    second = sync_processes(store, secret_key, tmp_path / "dagster")
    output, _ = second.communicate(timeout=240)
    assert second.returncode == 0, output

    state = store.state()
    assert set(state["products"]) == set(expected)
    created = [e for e in _product_creates(store) if e.status == 201]
    assert len(created) == len(expected)  # each product created exactly once across both runs
    variant_ids = [vid for p in state["products"].values() for vid in p["variant_external_ids"]]
    assert len(variant_ids) == len(set(variant_ids)) == sum(len(p.variants) for p in expected.values())
    assert store.sync_log("products")["last_full_sync"] is not None
    assert store.sync_log("products")["last_full_sync_succeeded"] is True
    assert "sparklayer_products" in output and "succeeded" in output
