"""Group commit for webhook deliveries: the ones that arrive while a commit is in flight are queued
together in the next one.

One insert and one commit per delivery cost most of the ingress's CPU (and Postgres's) under a burst;
batched, the cost per delivery falls as the burst grows, while a lone delivery still goes out at once.
Every delivery is answered only after the commit that holds it, so a 202 still means "durably queued".
A batch costs at most one retry, never a queue: when the database cannot be reached (or no connection is
free within CONNECTION_TIMEOUT_SECONDS) the batch is tried once more, then its deliveries fail (503: the
senders retry); when the database refuses a row, the batch's rows are committed one by one on one
connection, so a bad row fails only its own delivery.
"""

from __future__ import annotations

import asyncio
import logging

import psycopg
from psycopg_pool import AsyncConnectionPool

from ignite_etl.store.change_queue import QueuedChange, enqueue_many_async
from ignite_etl.store.database import AsyncConn

log = logging.getLogger(__name__)

MAX_BATCH = 500
CONNECTION_TIMEOUT_SECONDS = 5.0
"""How long a batch waits for a database connection; with its one retry, the most a failing database
holds up the deliveries behind it (webhook senders give up after 5-30 s)."""


class ChangeQueueWriter:
    """Queues changes through one pool; at most one batch is being committed at a time."""

    def __init__(self, pool: AsyncConnectionPool[AsyncConn], *, max_batch: int = MAX_BATCH,
                 connection_timeout: float = CONNECTION_TIMEOUT_SECONDS):
        self._pool = pool
        self._max_batch = max_batch
        self._connection_timeout = connection_timeout
        self._waiting: list[tuple[QueuedChange, asyncio.Future]] = []
        self._flusher: asyncio.Task | None = None

    async def enqueue(self, change: QueuedChange) -> int | None:
        """The new row id once committed, or None for a duplicate delivery or a connection that is
        gone or being removed; raises what the database raised."""
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((change, future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[: self._max_batch], self._waiting[self._max_batch:]
                await self._commit(batch)
        finally:
            self._flusher = None

    async def _commit(self, batch: list[tuple[QueuedChange, asyncio.Future]]) -> None:
        changes = [change for change, _ in batch]
        try:
            outcomes: list[int | None | BaseException] = list(await self._insert(changes))
        except psycopg.OperationalError as exc:  # unreachable, busy (a pool timeout) or restarting
            log.warning("ingress: a batch of %d deliveries could not be committed (%s); trying it once more",
                        len(batch), type(exc).__name__)
            outcomes = await self._retry_once(changes)
        except psycopg.Error as exc:  # the database refused a row: find which, on one connection
            log.warning("ingress: the database refused a batch of %d deliveries (%s); committing them one by one",
                        len(batch), type(exc).__name__)
            outcomes = await self._insert_each(changes)
        except Exception as exc:  # not the database's answer: each delivery fails with it, the next go on
            outcomes = [exc] * len(batch)
        except BaseException:  # cancelled, the ingress stopping: nobody may wait forever
            for _, future in batch:
                _settle(future, exception=RuntimeError("ingress stopping"))
            raise
        for (_, future), outcome in zip(batch, outcomes):
            if isinstance(outcome, BaseException):
                _settle(future, exception=outcome)
            else:
                _settle(future, result=outcome)

    async def _insert(self, changes: list[QueuedChange]) -> list[int | None]:
        async with self._pool.connection(timeout=self._connection_timeout) as conn:
            return await enqueue_many_async(conn, changes)

    async def _retry_once(self, changes: list[QueuedChange]) -> list[int | None | BaseException]:
        try:
            return list(await self._insert(changes))
        except Exception as exc:
            return [exc] * len(changes)

    async def _insert_each(self, changes: list[QueuedChange]) -> list[int | None | BaseException]:
        """Each change in its own transaction on one connection: a refused row fails alone, and the
        whole costs one connection, never a pool wait per row."""
        outcomes: list[int | None | BaseException] = []
        try:
            async with self._pool.connection(timeout=self._connection_timeout) as conn:
                for change in changes:
                    try:
                        async with conn.transaction():
                            outcomes.append((await enqueue_many_async(conn, [change]))[0])
                    except psycopg.OperationalError:
                        raise
                    except psycopg.Error as refused:
                        outcomes.append(refused)
        except psycopg.Error as exc:
            outcomes += [exc] * (len(changes) - len(outcomes))
        return outcomes


def _settle(future: asyncio.Future, *, result=None, exception: BaseException | None = None) -> None:
    if future.done():  # its request was cancelled (the client went away)
        return
    if exception is not None:
        future.set_exception(exception)
    else:
        future.set_result(result)
