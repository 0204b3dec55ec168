"""Group commit for webhook deliveries: the ones that arrive while a commit is in flight are queued
together in the next one.

One insert and one commit per delivery cost most of the ingress's CPU (and Postgres's) under a burst;
batched, the cost per delivery falls as the burst grows, while a lone delivery still goes out at once.
Every delivery is answered only after the commit that holds it, so a 202 still means "durably queued".
A batch that fails as a whole is tried again row by row, so one bad row fails only its own delivery.
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


class ChangeQueueWriter:
    """Queues changes through one pool; at most one batch is being committed at a time."""

    def __init__(self, pool: AsyncConnectionPool[AsyncConn], *, max_batch: int = MAX_BATCH):
        self._pool = pool
        self._max_batch = max_batch
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
            async with self._pool.connection() as conn:
                ids = await enqueue_many_async(conn, changes)
        except psycopg.Error as exc:
            if len(batch) == 1:
                _settle(batch[0][1], exception=exc)
                return
            log.warning("ingress: a batch of %d deliveries failed (%s); queueing them one by one",
                        len(batch), type(exc).__name__)
            for one in batch:
                await self._commit([one])
            return
        except Exception as exc:  # not the database's answer: each delivery fails with it, the next go on
            for _, future in batch:
                _settle(future, exception=exc)
            return
        except BaseException:  # cancelled, the ingress stopping: nobody may wait forever
            for _, future in batch:
                _settle(future, exception=RuntimeError("ingress stopping"))
            raise
        for (_, future), row_id in zip(batch, ids):
            _settle(future, result=row_id)


def _settle(future: asyncio.Future, *, result=None, exception: BaseException | None = None) -> None:
    if future.done():  # its request was cancelled (the client went away)
        return
    if exception is not None:
        future.set_exception(exception)
    else:
        future.set_result(result)
