"""`ignite-etl replay CONNECTION_ID [--since]` against a real Postgres."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ignite_etl import cli
from ignite_etl.store import change_queue
from ignite_etl.store.change_queue import QueuedChange, RetryPolicy
from ignite_etl.store.database import connect

CONNECTION_ID = "test-replay"


@pytest.fixture
def dead_letters(database_url, add_connection, monkeypatch, tmp_path):
    monkeypatch.setenv("IGNITE_DATABASE_URL", database_url)
    monkeypatch.setenv("IGNITE_HOME", str(tmp_path))
    add_connection("replay")
    with connect(database_url) as conn:
        ids = [change_queue.enqueue(conn, QueuedChange(CONNECTION_ID, "product", f"a{i}", "update", f"k{i}"))
               for i in range(3)]
        conn.execute("update change_queue set received_at = now() - interval '2 days' where id = %s", (ids[0],))
        change_queue.reschedule(conn, ids, "SparkLayer was down", RetryPolicy(max_attempts=1))
    return database_url


def statuses(database_url) -> list[tuple[str, int]]:
    with connect(database_url) as conn:
        return [(r["status"], r["attempts"]) for r in conn.execute("select * from change_queue order by id")]


def test_replay_since_requeues_only_newer_dead_letters(dead_letters, capsys):
    since = (change_queue_now(dead_letters) - timedelta(days=1)).isoformat()

    assert cli.main(["replay", CONNECTION_ID, "--since", since]) == 0

    assert statuses(dead_letters) == [("dead", 1), ("pending", 0), ("pending", 0)]
    assert "requeued 2 dead letter(s)" in capsys.readouterr().out


def test_replay_without_since_requeues_every_dead_letter(dead_letters):
    assert cli.main(["replay", CONNECTION_ID]) == 0
    assert statuses(dead_letters) == [("pending", 0)] * 3


def test_replay_refuses_a_garbled_since(dead_letters, capsys):
    assert cli.main(["replay", CONNECTION_ID, "--since", "last tuesday"]) != 0
    assert "ISO 8601" in capsys.readouterr().err
    assert statuses(dead_letters) == [("dead", 1)] * 3


def change_queue_now(database_url):
    with connect(database_url) as conn:
        return conn.execute("select now() as t").fetchone()["t"]
