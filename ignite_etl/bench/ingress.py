"""The `ingress` scenario: `ignite-etl ingress` in its own process, signed webhooks from another
process over many keep-alive connections, and the deliveries counted where they must end up: as
rows in the change queue."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx

from ignite_etl.bench.stack import OURS, BenchStack
from ignite_etl.bench.webhook_load import RESULT_PREFIX
from ignite_etl.platforms.marketplacer.webhooks import new_hmac_key
from ignite_etl.store.cipher import CredentialCipher
from ignite_etl.store.connections import save_webhook_registration
from ignite_etl.store.database import connect, one

log = logging.getLogger(__name__)

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a running process, from /proc."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def serving_ingress(stack: BenchStack, env: dict[str, str]) -> Iterator[tuple[str, subprocess.Popen]]:
    """`ignite-etl ingress` on a free loopback port, healthy; yields its base URL and process."""
    port = free_port()
    log_path = stack.workdir / "ingress.log"
    with open(log_path, "wb") as output:
        server = subprocess.Popen([sys.executable, "-m", "ignite_etl.cli", "ingress", "--host", HOST, "--port", str(port)],
                                  env=env, stdout=output, stderr=subprocess.STDOUT, cwd=stack.workdir)
        try:
            _wait_healthy(server, port, log_path)
            yield f"http://{HOST}:{port}", server
        finally:
            server.terminate()
            server.wait(timeout=30)


def run_ingress_scenario(stack: BenchStack, *, deliveries: int, connections: int) -> list[dict[str, Any]]:
    key = new_hmac_key()
    with connect(stack.app_url) as conn:
        save_webhook_registration(conn, CredentialCipher(stack.secret_key), OURS.connection_id,
                                  url=f"/webhooks/marketplacer/{OURS.connection_id}", key=key, state={})
    env = {**stack.worker_env(), "IGNITE_INGRESS_TOKEN": uuid.uuid4().hex}
    with serving_ingress(stack, env) as (url, server):
        cpu_before = process_cpu_seconds(server.pid)
        port = int(url.rpartition(":")[2])
        params = {"host": HOST, "port": port, "path": f"/webhooks/marketplacer/{OURS.connection_id}", "key": key,
                  "deliveries": deliveries, "connections": connections, "run_tag": uuid.uuid4().hex[:8]}
        log.info("ingress: %d signed webhooks over %d connections", deliveries, connections)
        load = subprocess.run([sys.executable, "-m", "ignite_etl.bench.webhook_load"], input=json.dumps(params).encode(),
                              capture_output=True, env=env, check=False)
        ingress_cpu = process_cpu_seconds(server.pid) - cpu_before
    lines = [line for line in load.stdout.decode().splitlines() if line.startswith(RESULT_PREFIX)]
    if load.returncode != 0 or not lines:
        raise RuntimeError(f"the webhook load failed:\n{load.stderr.decode()[-3000:]}")
    result = json.loads(lines[-1][len(RESULT_PREFIX):])
    with connect(stack.app_url) as conn:
        recorded = one(conn.execute("select count(*) as n from change_queue where connection_id = %s",
                                (OURS.connection_id,)).fetchone())["n"]
    duration = result["duration_s"]
    step = {
        "step": "ingress",
        "deliveries_sent": result["sent"],
        "recorded_in_queue": recorded,
        "connections": connections,
        "duration_s": duration,
        "recorded_per_s": round(recorded / duration, 1) if duration else None,
        "statuses": result["statuses"],
        "latency_ms": result["latency_ms"],
        "ingress_cpu_s": round(ingress_cpu, 2),
        "ingress_cpu_per_delivery_ms": round(ingress_cpu * 1000 / max(1, result["sent"]), 3),
    }
    step["text"] = ingress_text(step)
    return [step]


def _wait_healthy(server: subprocess.Popen, port: int, log_path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the ingress exited with {server.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"http://{HOST}:{port}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"the ingress did not become healthy within {timeout}s")


def ingress_text(step: dict[str, Any]) -> str:
    latency = step["latency_ms"]
    return "\n".join([
        "== ingress ==",
        f"signed webhooks sent            {step['deliveries_sent']:>10,}  over {step['connections']} keep-alive connections",
        f"recorded in the change queue    {step['recorded_in_queue']:>10,}  answers: {step['statuses']}",
        f"recorded per second             {step['recorded_per_s']:>10,.1f}  ({step['duration_s']} s)",
        f"latency p50 / p95 / p99 / max   {latency['p50']} / {latency['p95']} / {latency['p99']} / {latency['max']} ms",
        f"ingress CPU                     {step['ingress_cpu_s']:>10} s  ({step['ingress_cpu_per_delivery_ms']} ms per delivery)",
    ])
