"""The async path's database: the shared SQL stores over asyncpg connections.

A store built on :class:`AsyncPostgresDatabase` is the synchronous store class, run by
:func:`aragora_storage_core.aio.bridge.run` in a greenlet: every driver call here goes
through :func:`~aragora_storage_core.aio.bridge.await_`, one coroutine per round trip
group (checkout, statement and return of a read are one coroutine), so the event loop
never blocks. Pools are per event loop (:mod:`aio_pools`).

The stores' SQL is rewritten for asyncpg once per text and rows come back as tuples
(:mod:`aio_transaction`, which also holds the write transactions).

Like the synchronous :class:`~aragora_storage_postgres.database.PostgresDatabase`:
reads run outside a transaction (a read whose connection the server had closed is
retried once on a fresh one: all of it one coroutine, :meth:`read`, keyed for the
bridge, which then runs a read-only store call without a greenlet, and awaited directly
by coroutine twins) and may go to a replica chosen by the same :class:`ReplicaSet` (the
same freshness rules, ``registry.primary()``, read-your-writes); writes run between
``BEGIN`` and ``COMMIT`` on one connection (the checkout, ``BEGIN`` and the first
statement are one coroutine), never retried once a statement went out; the same typed
errors.

Cancellation (``task.cancel()``, ``asyncio.timeout``): asyncpg cancels the running
statement on the server; the transaction rolls back and its connection goes back to the
pool idle. A connection whose rollback failed, or whose ``COMMIT`` was in flight, is
terminated instead, and the cancellation carries the write's outcome.
"""

from __future__ import annotations

from collections.abc import Coroutine
from contextvars import ContextVar
from time import perf_counter
from typing import Any, cast

import asyncpg

from aragora_storage_core.aio.bridge import await_
from aragora_storage_core.sql.database import Params, Row, SQLDatabase
from aragora_storage_postgres.aio_pools import PRIMARY, LoopPools
from aragora_storage_postgres.aio_transaction import (
    TransactionBlock,
    TxCursor,
    closed,
    numbered,
)
from aragora_storage_postgres.connection import where
from aragora_storage_postgres.database import PostgresDatabase
from aragora_storage_postgres.dialect import POSTGRES
from aragora_storage_postgres.errors import connection_lost, lost_twice, refusal
from aragora_storage_postgres.replicas import Replica, ReplicaSet


class _Closed(Exception):
    """The server had closed the connection (raised instead of the driver's error)."""


class AsyncPostgresDatabase(SQLDatabase):
    """The async twin of a :class:`PostgresDatabase`: same server, replicas and limits."""

    dialect = POSTGRES

    def __init__(self, database: PostgresDatabase, pools: LoopPools) -> None:
        self.url = database.url
        self.label = database.label
        self.slow_query_seconds = database.slow_query_seconds
        self.replicas: ReplicaSet | None = database.replicas
        self.integrity_error = asyncpg.IntegrityConstraintViolationError
        self.pools = pools
        self._target = where(database.url)
        self._open: ContextVar[TxCursor | None] = ContextVar(
            f"aragora_postgres_async_tx_{id(self)}", default=None)

    def fetch_one(self, sql: str, params: Params = (), label: str = "fetch") -> Row | None:
        """Run a read (on a replica when one is fresh enough); return the first row."""
        row: Row | None = self._read(sql, params, label, False)
        return row

    def fetch_all(self, sql: str, params: Params = (), label: str = "fetch") -> list[Row]:
        """Run a read (on a replica when one is fresh enough); return every row."""
        rows: list[Row] = self._read(sql, params, label, True)
        return rows

    def afetch_one(self, sql: str, params: Params = (),
                   label: str = "fetch") -> Coroutine[Any, Any, Row | None]:
        """:meth:`fetch_one` to await (for coroutine twins of read methods,
        :mod:`aragora_storage_core.aio.twins`)."""
        return self.read(sql, params, label, False)

    def afetch_all(self, sql: str, params: Params = (),
                   label: str = "fetch") -> Coroutine[Any, Any, list[Row]]:
        """:meth:`fetch_all` to await (see :meth:`afetch_one`)."""
        return self.read(sql, params, label, True)

    def _read(self, sql: str, params: Params, label: str, every: bool) -> Any:
        open_tx = self._open.get()
        if open_tx is None:
            return await_(self.read(sql, params, label, every), key=(sql, params, every))
        start = perf_counter()  # inside this call's transaction: on its connection
        open_tx.execute(sql, params)
        result: Any = open_tx.fetchall() if every else open_tx.fetchone()
        self.timed(label, start)
        return result

    async def read(self, sql: str, params: Params, label: str, every: bool) -> Any:
        """A read outside any transaction: every row (``every``) or the first one."""
        if self.replicas is not None:
            replica = self.replicas.choose()
            if replica is not None:
                result = await self._on_replica(replica, sql, params, label, every)
                if result is not _MISSED:
                    return result
        for attempt in (1, 2):  # on the primary
            try:
                return await _query(self, PRIMARY, sql, params, label, every)
            except _Closed:  # the pool's other connections were expired: try once more
                if attempt == 2:
                    raise lost_twice(self._target) from None
            except asyncpg.PostgresError as exc:
                refused = refusal(exc)
                if refused is not None:
                    raise refused from None
                raise
        raise AssertionError("unreachable")

    async def _on_replica(self, replica: Replica, sql: str, params: Params, label: str,
                          every: bool) -> Any:
        """The read on ``replica``; :data:`_MISSED` when the primary must answer instead."""
        replicas = cast(ReplicaSet, self.replicas)
        try:
            return await _query(self, replica.label, sql, params, label, every)
        except _Closed:
            replicas.lost(replica, f"{replica.label} stopped answering")
        except _Unreachable as exc:
            replicas.lost(replica, exc.message)
        except asyncpg.PostgresError:
            pass  # e.g. cancelled by a conflict with recovery: the primary answers instead
        return _MISSED

    def transaction(self) -> TransactionBlock:
        """``BEGIN`` ... ``COMMIT`` on one connection; ``ROLLBACK`` if the block raises.

        Inside another transaction of the same store call it joins that one.
        """
        return TransactionBlock(self)

    #: :meth:`transaction` by the name coroutine twins use for ``async with``
    #: (``twin_rules.SQL``): the block serves both.
    atransaction = transaction

    def _mapped(self, exc: BaseException, lost: bool, committing: bool) -> BaseException:
        """The error to raise for ``exc`` (the driver's, or ours for a lost connection)."""
        if lost and isinstance(exc, Exception):
            return connection_lost(self._target, committing)
        return refusal(exc) or exc


class _Unreachable(Exception):
    """No connection to a target (a :class:`StorageError` wrapped for the replica path)."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error
        self.message = getattr(error, "message", str(error))


_MISSED: Any = object()


async def _query(database: AsyncPostgresDatabase, target: str, sql: str, params: Params,
                 label: str, every: bool) -> Any:
    """Checkout, run, fetch, return the connection: one read, one coroutine (timed here,
    where the wait is: the bridge may hand its result to store code later)."""
    start = perf_counter()
    pools = database.pools
    pool = pools.known(target) or await pools.pool(target)
    try:
        conn = await pools.acquire(target, pool)
    except Exception as error:  # a StorageError from LoopPools
        if target == PRIMARY:
            raise
        raise _Unreachable(error) from None
    try:
        if every:
            return list(map(tuple, await conn.fetch(numbered(sql), *params)))
        row = await conn.fetchrow(numbered(sql), *params)
        return None if row is None else tuple(row)
    except Exception:
        if not closed(conn):
            raise
    finally:
        await pool.release(conn)
        database.timed(label, start)
    await pool.expire_connections()  # a restart closes them all: replace every pooled one
    raise _Closed
