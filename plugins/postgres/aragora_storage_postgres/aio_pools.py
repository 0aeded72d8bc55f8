"""The async connection pools of one PostgreSQL backend: one set per event loop.

psycopg 3's ``AsyncConnectionPool`` belongs to the event loop it was opened on, so each
loop that uses the backend gets its own pools (the primary's and each replica's), made
on first use inside that loop and kept in a weak map: one registry serves any number of
``asyncio.run`` calls and test loops. :meth:`LoopPools.aclose` closes the running loop's
pools; :meth:`LoopPools.close` (synchronous, never blocking) closes the connections of
loops that no longer run and asks running ones to close theirs.

Connections are autocommit, opened with the same libpq parameters as the synchronous
pool (:func:`~aragora_storage_postgres.connection.connect_kwargs`). Behind a
transaction-mode pooler (PgBouncer) psycopg's automatic server-side prepared statements
are off: consecutive statements may run on different server connections.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from aragora_storage_core.aio.bridge import await_
from aragora_storage_core.errors import StorageError
from aragora_storage_core.url import StorageURL
from aragora_storage_postgres.connection import connect_error, connect_kwargs, where
from aragora_storage_postgres.errors import PoolTimeoutError

#: Seconds a read waits for a replica's connection before it goes to the primary instead.
REPLICA_CHECKOUT_SECONDS = 3.0
#: psycopg's default: a statement run this many times on a connection is prepared there.
PREPARE_THRESHOLD = 5

Pools = dict[str, AsyncConnectionPool[Any]]


class LoopPools:
    """The pools of the primary and replicas of one backend, per event loop.

    ``urls`` maps a target name (``primary``, or a replica's label) to its URL.
    """

    def __init__(self, urls: dict[str, StorageURL], *, size: int, max_overflow: int,
                 timeout: float, prepared: bool) -> None:
        self.urls = urls
        self.size, self.max_overflow, self.timeout = size, max_overflow, timeout
        self._kwargs = {name: dict(connect_kwargs(url), autocommit=True,
                                   prepare_threshold=PREPARE_THRESHOLD if prepared else None)
                        for name, url in urls.items()}
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Pools] = (
            weakref.WeakKeyDictionary())
        self._guards: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop,
                                                asyncio.Task[None]] = (
            weakref.WeakKeyDictionary())
        self._connections: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, weakref.WeakSet[psycopg.AsyncConnection[Any]]] = (
            weakref.WeakKeyDictionary())

    def get(self, target: str) -> AsyncConnectionPool[Any]:
        """The running loop's pool of ``target``, opened on first use (from bridged code)."""
        loop = asyncio.get_running_loop()
        pools = self._loops.get(loop)
        if pools is None:
            pools = self._loops.setdefault(loop, {})
            self._guards[loop] = loop.create_task(self._guard(pools), name="aragora pools")
        pool = pools.get(target)
        if pool is not None:
            return pool
        fresh = self._new(target)
        await_(fresh.open())
        pool = pools.setdefault(target, fresh)
        if pool is not fresh:  # another call opened one meanwhile: keep that one
            await_(fresh.close())
        return pool

    def _new(self, target: str) -> AsyncConnectionPool[Any]:
        replica = target != "primary"
        return AsyncConnectionPool(
            kwargs=self._kwargs[target], min_size=0,
            max_size=self.size + self.max_overflow,
            timeout=min(self.timeout, REPLICA_CHECKOUT_SECONDS) if replica else self.timeout,
            open=False, configure=self._opened, name=f"aragora {target}")

    @staticmethod
    async def _guard(pools: Pools) -> None:
        """Wait until cancelled, then close ``pools``.

        ``asyncio.run`` cancels every task of its loop when the main coroutine returns;
        psycopg_pool's own tasks survive that while a connection attempt is in flight,
        which would keep ``asyncio.run`` from returning. This task is cancelled with
        them and closes the pools, which ends theirs: forgetting :meth:`aclose` costs
        nothing.
        """
        try:
            await asyncio.Event().wait()
        finally:
            for pool in list(pools.values()):
                await pool.close(timeout=1.0)

    async def _opened(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """Remember each new connection, so that :meth:`close` can end it without a loop."""
        loop = asyncio.get_running_loop()
        self._connections.setdefault(loop, weakref.WeakSet()).add(conn)

    async def unavailable(self, target: str) -> StorageError:
        """Why no connection to ``target`` came within the pool's timeout.

        One direct connection attempt tells a server that refuses connections (its error,
        classified like the synchronous path's) from a pool whose connections are all busy.
        """
        url = self.urls[target]
        try:
            conn = await psycopg.AsyncConnection.connect(**self._kwargs[target])
        except psycopg.Error as exc:
            return connect_error(str(exc), url)
        await conn.close()
        return PoolTimeoutError(
            f"no PostgreSQL connection to {where(url)} became free within {self.timeout:g}s"
            f" (async pool size {self.size} + overflow {self.max_overflow}, all in use)",
            "raise ARAGORA_DB_POOL_SIZE, ARAGORA_DB_POOL_MAX_OVERFLOW or "
            "ARAGORA_DB_POOL_TIMEOUT, or find code holding transactions open")

    async def aclose(self) -> None:
        """Close every pool of the running loop."""
        loop = asyncio.get_running_loop()
        pools = self._loops.pop(loop, {})
        self._connections.pop(loop, None)
        guard = self._guards.pop(loop, None)
        if guard is not None:
            guard.cancel()  # it closes the pools
            await asyncio.gather(guard, return_exceptions=True)
        for pool in pools.values():
            await pool.close()

    def close(self) -> None:
        """Close the pools of every loop without waiting on any of them.

        A loop that still runs closes its pools itself (a task is scheduled there); the
        connections of a loop that stopped are ended directly.
        """
        loops, self._loops = self._loops, weakref.WeakKeyDictionary()
        self._guards = weakref.WeakKeyDictionary()
        connections, self._connections = self._connections, weakref.WeakKeyDictionary()
        for loop, pools in list(loops.items()):
            if loop.is_running() and not loop.is_closed():
                for pool in pools.values():
                    loop.call_soon_threadsafe(_close_soon, pool)
                continue
            for conn in list(connections.get(loop, ())):
                conn.pgconn.finish()


#: Pool closings scheduled by :meth:`LoopPools.close`, kept until they finish.
_CLOSING: set[asyncio.Task[None]] = set()


def _close_soon(pool: AsyncConnectionPool[Any]) -> None:
    task = asyncio.ensure_future(pool.close())
    _CLOSING.add(task)
    task.add_done_callback(_CLOSING.discard)
