"""The async path's database: the shared SQL stores over asyncpg connections.

A store built on :class:`AsyncPostgresDatabase` is the synchronous store class, run by
:func:`aragora_storage_core.aio.bridge.run` in a greenlet: every driver call here goes
through :func:`~aragora_storage_core.aio.bridge.await_`, one coroutine per round trip
group (checkout, statement and return of a read are one coroutine), so the event loop
never blocks. Pools are per event loop (:mod:`aio_pools`).

The stores hand over SQL in the POSTGRES dialect (``%s`` placeholders, ``%%`` for a
literal ``%``): it is rewritten once per text to asyncpg's ``$1, $2, ...``
(:func:`numbered`). Rows come back as tuples, as from psycopg2.

Like the synchronous :class:`~aragora_storage_postgres.database.PostgresDatabase`:
reads run outside a transaction (a read whose connection the server had closed is
retried once on a fresh one; each is keyed for the bridge, which then runs a read-only
store call without a greenlet) and may go to a replica chosen by the same
:class:`ReplicaSet` (the same freshness rules, ``registry.primary()``,
read-your-writes); writes run between ``BEGIN`` and ``COMMIT`` on one connection (the
checkout, ``BEGIN`` and the first statement are one coroutine), never retried once a
statement went out; the same typed errors.

Cancellation (``task.cancel()``, ``asyncio.timeout``): asyncpg cancels the running
statement on the server; the transaction rolls back and its connection goes back to the
pool idle. A connection whose rollback failed, or whose ``COMMIT`` was in flight, is
terminated instead. The :class:`WriteTracker` of the call hears ``began``,
``committing``, ``committed`` and ``ended`` so the cancellation carries the write's
outcome.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from contextvars import ContextVar
from time import perf_counter
from types import TracebackType
from typing import Any, cast

import asyncpg

from aragora_storage_core.aio.bridge import WriteTracker, await_, writes
from aragora_storage_core.sql.database import Params, Row, SQLDatabase, Transaction
from aragora_storage_postgres.aio_pools import PRIMARY, Connection, LoopPools
from aragora_storage_postgres.connection import where
from aragora_storage_postgres.database import PostgresDatabase
from aragora_storage_postgres.dialect import POSTGRES
from aragora_storage_postgres.errors import connection_lost, lost_twice, refusal
from aragora_storage_postgres.replicas import Replica, ReplicaSet

_PLACEHOLDER = re.compile(r"%[s%]")
#: Dialect SQL -> asyncpg SQL, per statement text (the stores' texts are constants).
_NUMBERED: dict[str, str] = {}


def numbered(sql: str) -> str:
    """``sql`` with ``%s`` as ``$1, $2, ...`` in order and ``%%`` as ``%`` (cached)."""
    done = _NUMBERED.get(sql)
    if done is None:
        count = 0

        def number(match: re.Match[str]) -> str:
            nonlocal count
            if match.group() == "%%":
                return "%"
            count += 1
            return f"${count}"

        done = _NUMBERED[sql] = _PLACEHOLDER.sub(number, sql)
    return done


def _status_count(status: str) -> int:
    """The row count of a command tag (``UPDATE 3``, ``INSERT 0 1``); -1 when it has none."""
    last = status.rpartition(" ")[2]
    return int(last) if last.isdigit() else -1


def _closed(conn: Connection) -> bool:
    """Whether the server (or asyncpg, on a fatal error) closed ``conn``."""
    try:
        return bool(conn.is_closed())
    except asyncpg.InterfaceError:  # closed and already handed back to its pool
        return True


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
        self._open: ContextVar[_TxCursor | None] = ContextVar(
            f"aragora_postgres_async_tx_{id(self)}", default=None)

    def fetch_one(self, sql: str, params: Params = (), label: str = "fetch") -> Row | None:
        """Run a read (on a replica when one is fresh enough); return the first row."""
        row: Row | None = self._read(sql, params, label, False)
        return row

    def fetch_all(self, sql: str, params: Params = (), label: str = "fetch") -> list[Row]:
        """Run a read (on a replica when one is fresh enough); return every row."""
        rows: list[Row] = self._read(sql, params, label, True)
        return rows

    def _read(self, sql: str, params: Params, label: str, every: bool) -> Any:
        open_tx = self._open.get()
        if open_tx is not None:  # inside this call's transaction: on its connection
            start = perf_counter()
            open_tx.execute(sql, params)
            result: Any = open_tx.fetchall() if every else open_tx.fetchone()
            self.timed(label, start)
            return result
        if self.replicas is not None:
            replica = self.replicas.choose()
            if replica is not None:
                result = self._on_replica(replica, sql, params, label, every)
                if result is not _MISSED:
                    return result
        for attempt in (1, 2):  # on the primary
            try:
                return await_(_query(self, PRIMARY, sql, params, label, every),
                              key=(PRIMARY, sql, params, every))
            except _Closed:  # the pool's other connections were expired: try once more
                if attempt == 2:
                    raise lost_twice(self._target) from None
            except asyncpg.PostgresError as exc:
                refused = refusal(exc)
                if refused is not None:
                    raise refused from None
                raise
        raise AssertionError("unreachable")

    def _on_replica(self, replica: Replica, sql: str, params: Params, label: str,
                    every: bool) -> Any:
        """The read on ``replica``; :data:`_MISSED` when the primary must answer instead."""
        replicas = cast(ReplicaSet, self.replicas)
        try:
            return await_(_query(self, replica.label, sql, params, label, every),
                          key=(replica.label, sql, params, every))
        except _Closed:
            replicas.lost(replica, f"{replica.label} stopped answering")
        except _Unreachable as exc:
            replicas.lost(replica, exc.message)
        except asyncpg.PostgresError:
            pass  # e.g. cancelled by a conflict with recovery: the primary answers instead
        return _MISSED

    def transaction(self) -> _Block:
        """``BEGIN`` ... ``COMMIT`` on one connection; ``ROLLBACK`` if the block raises.

        Inside another transaction of the same store call it joins that one.
        """
        return _Block(self)

    def _mapped(self, exc: BaseException, lost: bool, committing: bool) -> BaseException:
        """The error to raise for ``exc`` (the driver's, or ours for a lost connection)."""
        if lost and isinstance(exc, Exception):
            return connection_lost(self._target, committing)
        return refusal(exc) or exc


class _Block:
    """One ``with database.transaction()`` block (a class rather than a generator: it
    wraps every write, and saves several calls each)."""

    __slots__ = ("_cursor", "_database", "_token")

    def __init__(self, database: AsyncPostgresDatabase) -> None:
        self._database = database
        self._cursor: _TxCursor | None = None
        self._token: Any = None  # the ContextVar token of the transaction it opened

    def __enter__(self) -> Transaction:
        database = self._database
        open_tx = database._open.get()
        if open_tx is not None:  # joins it: the block that opened it ends it
            return Transaction(open_tx, database)
        cursor = self._cursor = _TxCursor(database, writes())
        self._token = database._open.set(cursor)
        return Transaction(cursor, database)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        cursor, database = self._cursor, self._database
        if cursor is None:
            return
        try:
            if exc is not None:
                mapped = database._mapped(exc, cursor.abandon(terminate=False),
                                          committing=False)
                if mapped is not exc:
                    raise mapped from None
                return  # the block's own exception goes on
            try:
                cursor.commit()
            except BaseException as error:
                raise database._mapped(error, cursor.abandon(terminate=True),
                                       committing=True) from None
        finally:
            database._open.reset(self._token)
            if cursor.begun and database.replicas is not None:
                database.replicas.wrote()


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
        if not _closed(conn):
            raise
    finally:
        await pool.release(conn)
        database.timed(label, start)
    await pool.expire_connections()  # a restart closes them all: replace every pooled one
    raise _Closed


class _TxCursor:
    """The cursor of one write transaction on one pooled connection (DB-API shaped).

    Each statement is awaited in one coroutine with its result rows, so ``fetchone`` and
    ``fetchall`` cost no round trip.
    """

    __slots__ = ("_committing", "_database", "_pool", "_rows", "_tracker", "begun", "conn",
                 "rowcount")

    def __init__(self, database: AsyncPostgresDatabase, tracker: Any) -> None:
        self._database = database
        self._pool = database.pools.get(PRIMARY)
        self._tracker: WriteTracker = tracker
        self.conn: Connection | None = None
        self.begun = self._committing = False
        self.rowcount = -1
        self._rows: list[Any] = []

    def execute(self, sql: str, params: Params = ()) -> None:
        """Run one statement (after ``BEGIN`` on a fresh connection when it is the first)."""
        await_(self._run(sql, params))

    def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        """Run one statement for many parameter rows (asyncpg pipelines them)."""
        await_(self._run_many(sql, list(rows)))

    def fetchone(self) -> Any:
        """Next row of the last statement, or ``None``."""
        return self._rows.pop(0) if self._rows else None

    def fetchall(self) -> list[Any]:
        """Remaining rows of the last statement."""
        rows, self._rows = self._rows, []
        return rows

    async def _begin(self) -> Connection:
        """A connection with ``BEGIN`` done.

        A connection found closed is replaced once: nothing sent on it can have been
        applied (no ``COMMIT`` went out).
        """
        pool = self._pool
        for attempt in (1, 2):
            self.conn = conn = await self._database.pools.acquire(PRIMARY, pool)
            try:
                await conn.execute("BEGIN")
            except Exception:
                if not _closed(conn) or attempt == 2:
                    raise
                self.conn = None
                await pool.release(conn)
                await pool.expire_connections()  # the others the server closed too
                continue
            self._tracker.began()
            self.begun = True
            return conn
        raise AssertionError("unreachable")

    async def _run(self, sql: str, params: Params) -> None:
        conn: Any = self.conn if self.begun else await self._begin()
        # asyncpg's fetch keeps the command tag internal: its _execute returns both
        rows, status, _ = await conn._execute(numbered(sql), params, 0, None,
                                              return_status=True)
        self.rowcount = _status_count(status.decode())
        self._rows = list(map(tuple, rows))

    async def _run_many(self, sql: str, rows: list[Params]) -> None:
        conn = self.conn if self.begun else await self._begin()
        await cast(Connection, conn).executemany(numbered(sql), rows)
        self.rowcount = len(rows)
        self._rows = []

    def commit(self) -> None:
        """``COMMIT`` and return the connection (nothing when no statement ran)."""
        if self.conn is None:
            return
        self._tracker.committing()
        self._committing = True
        await_(self._commit(self.conn))

    async def _commit(self, conn: Connection) -> None:
        await conn.execute("COMMIT")
        self._tracker.committed()
        self._committing = False
        self.conn = None
        await self._pool.release(conn)

    def abandon(self, terminate: bool) -> bool:
        """End the transaction after an error; return whether the server had closed it.

        Rolls back and returns the connection when it can be trusted; terminates it when
        the rollback fails or a ``COMMIT`` was in flight.
        """
        conn = self.conn
        if conn is None:
            return False
        lost = _closed(conn)
        self.conn = None
        await_(self._abandon(conn, terminate or self._committing))
        return lost

    async def _abandon(self, conn: Connection, terminate: bool) -> None:
        try:
            if terminate:
                conn.terminate()  # the server rolls back what it has open
            elif not _closed(conn) and conn.is_in_transaction():
                await conn.execute("ROLLBACK")  # after asyncpg's cancel request, if any
        except BaseException:  # the rollback failed or was cancelled too: terminate it
            conn.terminate()
        finally:
            if not self._committing:
                self._tracker.ended()
            await self._pool.release(conn)
