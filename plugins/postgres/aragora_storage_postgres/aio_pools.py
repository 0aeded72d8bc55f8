"""The async connection pools of one PostgreSQL backend: one set per event loop.

asyncpg's pool belongs to the event loop it was made on, so each loop that uses the
backend gets its own pools (the primary's and each replica's), made on first use inside
that loop and kept in a weak map: one registry serves any number of ``asyncio.run``
calls and test loops. :meth:`LoopPools.aclose` closes the running loop's pools;
:meth:`LoopPools.close` (synchronous, never blocking) ends the connections of loops that
no longer run and asks running ones to close theirs.

A released connection is not reset with a query (asyncpg's default costs a round trip
per release): the adapter leaves it outside a transaction, and asyncpg still rolls back
one that is not. Connections use the same URL as the synchronous pool
(:func:`driver_args`). Behind a transaction-mode pooler (PgBouncer) asyncpg's
statement cache is off: consecutive statements may run on different server connections.
"""

from __future__ import annotations

import asyncio
import os
import weakref
from typing import Any
from urllib.parse import urlencode

import asyncpg

from aragora_storage_core.aio.per_loop import PerLoop
from aragora_storage_core.errors import StorageError
from aragora_storage_core.url import StorageURL
from aragora_storage_postgres.connection import connect_error, connect_kwargs, where
from aragora_storage_postgres.errors import PoolTimeoutError

PRIMARY = "primary"
#: Seconds a read waits for a replica's connection before it goes to the primary instead.
REPLICA_CHECKOUT_SECONDS = 3.0
#: libpq's TCP keepalive settings, which asyncpg has no option for (left to the kernel).
_LIBPQ_ONLY = ("keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count")

Connection = Any  # asyncpg.pool.PoolConnectionProxy (asyncpg ships no type hints)
Pool = Any  # asyncpg.Pool
Pools = dict[str, Pool]


def driver_args(url: StorageURL) -> dict[str, Any]:
    """``asyncpg.connect`` arguments for ``url``: the sync path's libpq parameters.

    Host list, user, password, database, TLS options and ``target_session_attrs`` go in a
    libpq-style DSN (asyncpg parses it as libpq does); ``connect_timeout`` becomes its
    timeout and the rest (``application_name``, ``options``) session settings.
    """
    libpq = connect_kwargs(url)
    timeout = float(libpq.pop("connect_timeout"))
    for name in _LIBPQ_ONLY:
        libpq.pop(name, None)
    settings = {name: str(libpq.pop(name)) for name in ("application_name",) if name in libpq}
    return {"dsn": "postgresql://?" + urlencode({k: str(v) for k, v in libpq.items()}),
            "timeout": timeout, "server_settings": settings}


async def _no_reset(conn: Connection) -> None:
    """No reset query on release (asyncpg itself rolls back an open transaction first)."""


class _LoopPools:
    """One loop's pools, every connection they opened, and the task that ends them."""

    __slots__ = ("connections", "guard", "pools")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.pools: Pools = {}
        self.connections: weakref.WeakSet[Any] = weakref.WeakSet()
        self.guard = loop.create_task(_guard(self.pools), name="aragora pools")


async def _guard(pools: Pools) -> None:
    """Wait until cancelled, then end ``pools``' connections.

    ``asyncio.run`` cancels every task of its loop when the main coroutine returns: this
    one is cancelled with them and terminates the pools, so forgetting
    :meth:`LoopPools.aclose` leaves no session open.
    """
    try:
        await asyncio.Event().wait()
    finally:
        for pool in list(pools.values()):
            pool.terminate()


class LoopPools:
    """The pools of the primary and replicas of one backend, per event loop.

    ``urls`` maps a target name (``primary``, or a replica's label) to its URL.
    """

    def __init__(self, urls: dict[str, StorageURL], *, size: int, max_overflow: int,
                 timeout: float, prepared: bool) -> None:
        self.urls = urls
        self.size, self.max_overflow, self.timeout = size, max_overflow, timeout
        self._kwargs = {name: dict(driver_args(url),
                                   **({} if prepared else {"statement_cache_size": 0}))
                        for name, url in urls.items()}
        self._loops = PerLoop(_LoopPools)

    def known(self, target: str) -> Pool | None:
        """The running loop's pool of ``target`` if it was made already."""
        return self._loops.here().pools.get(target)

    async def pool(self, target: str) -> Pool:
        """The running loop's pool of ``target``, made now if it has none."""
        pools = self._loops.here().pools
        pool = pools.get(target)
        if pool is not None:
            return pool
        fresh = await self._new(target)
        pool = pools.setdefault(target, fresh)
        if pool is not fresh:  # another call made one meanwhile: keep that one
            await fresh.close()
        return pool

    async def _new(self, target: str) -> Pool:
        """A pool of ``target`` (``min_size`` 0: it opens no connection yet)."""
        return await asyncpg.create_pool(
            **self._kwargs[target], min_size=0, max_size=self.size + self.max_overflow,
            init=self._opened, reset=_no_reset)

    async def acquire(self, target: str, pool: Pool) -> Connection:
        """A connection of ``pool``, or our typed error (never the driver's text).

        The pool's timeout applies only when no connection is free: a free one is taken
        at once (its first connect bounded by the connect timeout), and arming a timer
        for it cost as much as the rest of the checkout.
        """
        try:
            # A free connection holder waits in asyncpg's queue. The queue is not public
            # API (get_idle_size counts every holder, which costs more than the timer it
            # would save); an asyncpg without it reads as "none free": all wait under it.
            queue = getattr(pool, "_queue", None)
            if queue is not None and not queue.empty():
                return await pool.acquire()
            wait = self.timeout if target == PRIMARY else min(self.timeout,
                                                              REPLICA_CHECKOUT_SECONDS)
            # asyncpg's own acquire(timeout=) runs it in a task on Python 3.11: a loop turn
            async with asyncio.timeout(wait):
                return await pool.acquire()
        except TimeoutError:
            raise await self.unavailable(target) from None
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise connect_error(str(exc), self.urls[target]) from None

    async def _opened(self, conn: Connection) -> None:
        """Remember each new connection, so that :meth:`close` can end it without a loop."""
        self._loops.here().connections.add(conn)

    async def unavailable(self, target: str) -> StorageError:
        """Why no connection to ``target`` came within the pool's timeout.

        One direct connection attempt tells a server that refuses connections (its error,
        classified like the synchronous path's) from a pool whose connections are all busy.
        """
        url = self.urls[target]
        try:
            conn = await asyncpg.connect(**self._kwargs[target])
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            return connect_error(str(exc), url)
        await conn.close()
        return PoolTimeoutError(
            f"no PostgreSQL connection to {where(url)} became free within {self.timeout:g}s"
            f" (async pool size {self.size} + overflow {self.max_overflow}, all in use)",
            "raise ARAGORA_DB_POOL_SIZE, ARAGORA_DB_POOL_MAX_OVERFLOW or "
            "ARAGORA_DB_POOL_TIMEOUT, or find code holding transactions open")

    async def aclose(self) -> None:
        """Close every pool of the running loop."""
        made = self._loops.pop()
        if made is not None:
            made.guard.cancel()  # it ends the pools
            await asyncio.gather(made.guard, return_exceptions=True)

    def close(self) -> None:
        """End the pools of every loop without waiting on any of them.

        A loop that still runs ends its pools itself (scheduled there); the connections of
        a loop that stopped are ended directly.
        """
        for loop, made in self._loops.clear():
            if loop.is_running() and not loop.is_closed():
                for pool in made.pools.values():
                    loop.call_soon_threadsafe(pool.terminate)
                continue
            for conn in list(made.connections):
                _end(conn)


def _end(conn: Any) -> None:
    """Close the socket of ``conn``, whose event loop no longer runs.

    The socket's descriptor is pointed at ``/dev/null``: the server sees the session end,
    and the transport, whenever it is collected, closes a harmless descriptor.
    """
    transport = getattr(conn, "_transport", None)
    sock = None if transport is None else transport.get_extra_info("socket")
    if sock is None or sock.fileno() < 0:
        return
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        os.dup2(devnull, sock.fileno())
    finally:
        os.close(devnull)
