"""`ignite-etl ingress` as an operator starts it: a real process that migrates, serves and answers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx

from .conftest import INGRESS_TOKEN


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_ingress_command_serves_on_the_given_port(make_database, secret_key, tmp_path):
    database_url = make_database()  # empty: the command applies the migrations itself
    port = free_port()
    env = {**os.environ, "IGNITE_DATABASE_URL": database_url, "IGNITE_SECRET_KEY": secret_key,
           "IGNITE_INGRESS_TOKEN": INGRESS_TOKEN, "IGNITE_HOME": str(tmp_path)}
    process = subprocess.Popen([sys.executable, "-m", "ignite_etl.cli", "ingress", "--port", str(port)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read().decode()
                assert time.monotonic() < deadline, "the ingress did not start"
                time.sleep(0.2)
        refused = httpx.delete(f"http://127.0.0.1:{port}/v1/test/bobs-store", timeout=5)
        unknown = httpx.delete(f"http://127.0.0.1:{port}/v1/test/bobs-store", timeout=5,
                               headers={"Authorization": f"Bearer {INGRESS_TOKEN}"})
    finally:
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=30)[0].decode()

    assert health.json() == {"status": "ok", "database": "ok"}
    assert refused.status_code == 401 and unknown.status_code == 404  # the schema is there: migrated
    assert INGRESS_TOKEN not in output and secret_key not in output
