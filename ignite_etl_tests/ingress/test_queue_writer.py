"""The ingress's group commit on a real Postgres: concurrent deliveries share commits, every one is
answered with its own outcome, and one bad row fails only its own delivery."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from ignite_etl.ingress.queue_writer import ChangeQueueWriter
from ignite_etl.store.change_queue import QueuedChange, enqueue_many_async
from ignite_etl.store.database import connect

CONNECTION_ID = "test-burst"


@pytest.fixture
def connected(database_url, add_connection):
    add_connection("burst")
    return database_url


def change(key: str, connection_id: str = CONNECTION_ID) -> QueuedChange:
    return QueuedChange(connection_id, "variant", f"v-{key}", "update", key, sequence=1)


def queued(database_url) -> list[dict]:
    with connect(database_url) as conn:
        return conn.execute("select id, idempotency_key from change_queue order by id").fetchall()


async def with_pool(database_url, work):
    async with AsyncConnectionPool(database_url, kwargs={"row_factory": dict_row}, min_size=1, max_size=2,
                                   open=False) as pool:
        return await work(pool)


def test_one_statement_answers_each_change_and_the_first_of_a_duplicate_wins(connected):
    batch = [change("a"), change("b"), change("a"), change("c", connection_id="test-nobody"), change("d")]

    async def work(pool):
        async with pool.connection() as conn:
            return await enqueue_many_async(conn, batch)

    ids = asyncio.run(with_pool(connected, work))
    assert ids[2] is None and ids[3] is None  # a repeat in the same batch; a connection that does not exist
    assert None not in (ids[0], ids[1], ids[4]) and ids[0] < ids[1] < ids[4]  # arrival order
    assert [r["idempotency_key"] for r in queued(connected)] == ["a", "b", "d"]


def test_a_burst_shares_commits_and_every_delivery_gets_its_own_answer(connected, monkeypatch):
    import ignite_etl.ingress.queue_writer as queue_writer

    batch_sizes = []
    original = queue_writer.enqueue_many_async

    async def counting(conn, changes):
        batch_sizes.append(len(changes))
        return await original(conn, changes)

    monkeypatch.setattr(queue_writer, "enqueue_many_async", counting)
    keys = [f"k{i}" for i in range(300)] + [f"k{i}" for i in range(0, 300, 10)]  # 30 redeliveries

    async def work(pool):
        writer = ChangeQueueWriter(pool, max_batch=100)
        return await asyncio.gather(*(writer.enqueue(change(key)) for key in keys))

    ids = asyncio.run(with_pool(connected, work))
    assert sum(batch_sizes) == len(keys) and max(batch_sizes) == 100  # batched, never past the limit
    assert len(batch_sizes) < len(keys) / 10
    assert sum(i is not None for i in ids) == 300  # each key queued once, by its first delivery
    assert all(i is None for i in ids[300:])
    rows = queued(connected)
    assert [r["id"] for r in rows] == sorted(i for i in ids if i is not None)
    assert [r["idempotency_key"] for r in rows] == keys[:300]


def test_one_bad_row_fails_only_its_own_delivery(connected):
    bad = QueuedChange(CONNECTION_ID, "variant", "v-\x00", "update", "nul")  # Postgres text cannot hold NUL

    async def work(pool):
        writer = ChangeQueueWriter(pool)
        return await asyncio.gather(*(writer.enqueue(c) for c in (change("x"), bad, change("y"))),
                                    return_exceptions=True)

    first, failed, last = asyncio.run(with_pool(connected, work))
    assert isinstance(failed, psycopg.Error)
    assert isinstance(first, int) and isinstance(last, int)
    assert [r["idempotency_key"] for r in queued(connected)] == ["x", "y"]


def test_a_lone_delivery_is_committed_before_it_is_answered(connected):
    async def work(pool):
        writer = ChangeQueueWriter(pool)
        row_id = await writer.enqueue(change("alone"))
        with connect(connected) as conn:  # another connection sees it at once
            seen = conn.execute("select id from change_queue where idempotency_key = 'alone'").fetchone()
        return row_id, seen

    row_id, seen = asyncio.run(with_pool(connected, work))
    assert seen is not None and seen["id"] == row_id


def test_a_batch_that_fails_outside_the_database_fails_alone_and_the_next_are_queued(connected, monkeypatch):
    import ignite_etl.ingress.queue_writer as queue_writer

    original, calls = queue_writer.enqueue_many_async, []

    async def broken_once(conn, changes):
        calls.append(len(changes))
        if len(calls) == 1:
            raise RuntimeError("not the database")
        return await original(conn, changes)

    monkeypatch.setattr(queue_writer, "enqueue_many_async", broken_once)

    async def work(pool):
        writer = ChangeQueueWriter(pool, max_batch=2)
        deliveries = asyncio.gather(*(writer.enqueue(change(key)) for key in "abcd"), return_exceptions=True)
        return await asyncio.wait_for(deliveries, timeout=30)  # none may be left waiting

    a, b, c, d = asyncio.run(with_pool(connected, work))
    assert isinstance(a, RuntimeError) and isinstance(b, RuntimeError)
    assert isinstance(c, int) and isinstance(d, int)
    assert [r["idempotency_key"] for r in queued(connected)] == ["c", "d"]


def test_a_database_that_does_not_answer_costs_each_batch_one_retry_never_a_queue(connected):
    async def work(pool):
        writer = ChangeQueueWriter(pool, connection_timeout=0.2)
        async with pool.connection():  # the pool's only connection is taken: every batch times out
            outcomes = await asyncio.gather(*(writer.enqueue(change(f"k{i}")) for i in range(50)),
                                            return_exceptions=True)
            timeouts = pool.get_stats().get("requests_timeouts", 0)
        after = await writer.enqueue(change("after"))
        return outcomes, timeouts, after

    async def one_connection(database_url):
        async with AsyncConnectionPool(database_url, kwargs={"row_factory": dict_row}, min_size=1, max_size=1,
                                       open=False) as pool:
            return await work(pool)

    outcomes, timeouts, after = asyncio.run(one_connection(connected))
    assert all(isinstance(o, psycopg.OperationalError) for o in outcomes)  # each told, so its sender retries
    batches = timeouts // 2
    assert timeouts == 2 * batches and batches <= 3  # one try and one retry per batch, not one per delivery
    assert isinstance(after, int)
    assert [r["idempotency_key"] for r in queued(connected)] == ["after"]
