"""The change queue's bookkeeping on a real Postgres: dedupe, backoff, dead letters, requeue."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ignite_etl.store import change_queue
from ignite_etl.store.change_queue import QueuedChange, RetryPolicy
from ignite_etl.store.database import connect

CONNECTION_ID = "test-queue"


@pytest.fixture
def conn(database_url, add_connection):
    add_connection("queue")
    with connect(database_url, autocommit=True) as conn:
        yield conn


def add(conn, key: str) -> int | None:
    return change_queue.enqueue(conn, QueuedChange(CONNECTION_ID, "variant", f"v-{key}", "update", key, sequence=1))


def row(conn, row_id: int) -> dict:
    return conn.execute("select *, not_before - now() as wait from change_queue where id = %s", (row_id,)).fetchone()


def test_backoff_doubles_up_to_the_cap():
    policy = RetryPolicy(max_attempts=10, base_delay=timedelta(seconds=30), max_delay=timedelta(minutes=5))
    assert [policy.delay(n).total_seconds() for n in range(1, 6)] == [30, 60, 120, 240, 300]


def test_a_counted_failure_backs_off_and_the_last_one_makes_a_dead_letter(conn):
    row_id = add(conn, "a")
    policy = RetryPolicy(max_attempts=3, base_delay=timedelta(seconds=10))

    assert change_queue.reschedule(conn, [row_id], "down", policy) == []
    first = row(conn, row_id)
    assert change_queue.due_rows(conn, CONNECTION_ID) == []  # waiting out its backoff
    assert change_queue.reschedule(conn, [row_id], "down", policy) == []
    second = row(conn, row_id)
    assert change_queue.reschedule(conn, [row_id], "still down", policy) == [row_id]
    dead = row(conn, row_id)

    assert (first["attempts"], second["attempts"], dead["attempts"]) == (1, 2, 3)
    assert timedelta(seconds=9) < first["wait"] <= timedelta(seconds=10)
    assert timedelta(seconds=19) < second["wait"] <= timedelta(seconds=20)
    assert (dead["status"], dead["last_error"]) == ("dead", "still down")


def test_a_rate_limit_waits_without_using_up_attempts(conn):
    row_id = add(conn, "b")
    policy = RetryPolicy(max_attempts=1)
    for _ in range(5):
        assert change_queue.reschedule(conn, [row_id], "429", policy, counts_as_attempt=False,
                                       wait=timedelta(seconds=60)) == []
    limited = row(conn, row_id)
    assert (limited["status"], limited["attempts"]) == ("pending", 0)
    assert limited["wait"] > timedelta(seconds=59)


def test_done_rows_are_not_rescheduled_and_requeue_brings_back_only_dead_letters(conn):
    done, dead = add(conn, "c"), add(conn, "d")
    change_queue.mark_done(conn, [done])
    change_queue.reschedule(conn, [done, dead], "down", RetryPolicy(max_attempts=1))

    assert change_queue.requeue_dead(conn, CONNECTION_ID) == 1
    assert change_queue.status_counts(conn, CONNECTION_ID) == {"pending": 1, "done": 1, "dead": 0}
    assert [r.id for r in change_queue.due_rows(conn, CONNECTION_ID)] == [dead]
