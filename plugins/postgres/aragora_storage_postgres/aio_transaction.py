"""Write transactions of the async PostgreSQL adapter, for bridged store code and for
coroutine twins alike.

A :class:`TransactionBlock` is what ``database.transaction()`` returns: ``with`` it in
store code run by the bridge (``BEGIN`` ... ``COMMIT`` awaited through
:func:`~aragora_storage_core.aio.bridge.await_`), ``async with`` it in a coroutine twin
(:mod:`aragora_storage_core.aio.twins`). How a block ends (commit, or roll back and map
the error, or terminate a connection whose ``COMMIT`` was in flight) is written once, as
a coroutine. The :class:`WriteTracker` hears ``began``, ``committing``, ``committed`` and
``ended``, so a cancellation carries the write's outcome: the bridge marks it for bridged
code, the block itself for a twin.

The stores hand over SQL in the POSTGRES dialect (``%s`` placeholders, ``%%`` for a
literal ``%``): it is rewritten once per text to asyncpg's ``$1, $2, ...``
(:func:`numbered`). Rows come back as tuples, as from psycopg2.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from time import perf_counter
from types import TracebackType
from typing import TYPE_CHECKING, Any

import asyncpg

from aragora_storage_core.aio.bridge import WriteTracker, await_, writes
from aragora_storage_core.aio.outcome import mark
from aragora_storage_core.sql.database import Params, Row, Transaction
from aragora_storage_postgres.aio_pools import PRIMARY, Connection

if TYPE_CHECKING:
    from aragora_storage_postgres.aio import AsyncPostgresDatabase

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


def closed(conn: Connection) -> bool:
    """Whether the server (or asyncpg, on a fatal error) closed ``conn``."""
    try:
        return bool(conn.is_closed())
    except asyncpg.InterfaceError:  # closed and already handed back to its pool
        return True


def _status_count(status: str) -> int:
    """The row count of a command tag (``UPDATE 3``, ``INSERT 0 1``); -1 when it has none."""
    last = status.rpartition(" ")[2]
    return int(last) if last.isdigit() else -1


class TransactionBlock:
    """One ``with`` (bridged code) or ``async with`` (a twin) ``database.transaction()``
    block. A class rather than a generator: it wraps every write, and saves several
    calls each."""

    __slots__ = ("_cursor", "_database", "_token")

    def __init__(self, database: AsyncPostgresDatabase) -> None:
        self._database = database
        self._cursor: TxCursor | None = None
        self._token: Any = None  # the ContextVar token of the transaction it opened

    def __enter__(self) -> Transaction:
        open_tx = self._database._open.get()
        if open_tx is not None:  # joins it: the block that opened it ends it
            return Transaction(open_tx, self._database)
        return Transaction(self._open(writes()), self._database)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        cursor = self._cursor
        if cursor is None:
            return
        try:
            if cursor.conn is not None or exc is not None:
                await_(self._end(exc))
        finally:
            self._finish(cursor)

    async def __aenter__(self) -> AsyncTransaction:
        # a twin's one transaction: its own tracker, as no greenlet holds one
        return AsyncTransaction(self._open(WriteTracker()), self._database)

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, traceback: TracebackType | None) -> None:
        cursor = self._cursor
        assert cursor is not None
        try:
            await self._end(exc)
        except asyncio.CancelledError as cancelled:  # during COMMIT or ROLLBACK
            mark(cancelled, cursor.tracker.outcome())
            raise
        finally:
            self._finish(cursor)
        if isinstance(exc, asyncio.CancelledError):
            mark(exc, cursor.tracker.outcome())

    def _open(self, tracker: Any) -> TxCursor:
        cursor = self._cursor = TxCursor(self._database, tracker)
        self._token = self._database._open.set(cursor)
        return cursor

    async def _end(self, exc: BaseException | None) -> None:
        """Commit, or after ``exc`` roll back; raise what is to be raised instead of
        ``exc`` (our error for a lost connection, a refusal), if anything."""
        cursor, database = self._cursor, self._database
        assert cursor is not None
        if exc is not None:
            mapped = database._mapped(exc, await cursor.abandon(terminate=False),
                                      committing=False)
            if mapped is not exc:
                raise mapped from None
            return  # the block's own exception goes on
        try:
            await cursor.commit()
        except BaseException as error:
            raise database._mapped(error, await cursor.abandon(terminate=True),
                                   committing=True) from None

    def _finish(self, cursor: TxCursor) -> None:
        database = self._database
        database._open.reset(self._token)
        if cursor.begun and database.replicas is not None:
            database.replicas.wrote()


class AsyncTransaction:
    """:class:`~aragora_storage_core.sql.database.Transaction` for a coroutine twin: the
    same statements, awaited (``aexecute``, ``afetch_one``, ...), timed the same way."""

    __slots__ = ("_cursor", "_database")

    def __init__(self, cursor: TxCursor, database: AsyncPostgresDatabase) -> None:
        self._cursor = cursor
        self._database = database

    async def aexecute(self, sql: str, params: Params = (), label: str = "execute") -> int:
        """Run one statement; return the number of rows it changed."""
        start = perf_counter()
        await self._cursor.run(sql, params)
        self._database.timed(label, start)
        return self._cursor.rowcount

    async def afetch_one(self, sql: str, params: Params = (),
                         label: str = "fetch") -> Row | None:
        """Run a statement and return its first row (``RETURNING`` works too)."""
        await self.aexecute(sql, params, label)
        return self.next_row()

    async def afetch_all(self, sql: str, params: Params = (),
                         label: str = "fetch") -> list[Row]:
        """Run a statement and return all rows."""
        await self.aexecute(sql, params, label)
        return self.rest_rows()

    async def aexecute_many(self, sql: str, rows: Iterable[Params],
                            label: str = "bulk") -> int:
        """Run one statement for many rows (asyncpg pipelines them)."""
        start = perf_counter()
        await self._cursor.run_many(sql, list(rows))
        self._database.timed(label, start)
        return self._cursor.rowcount

    def next_row(self) -> Row | None:
        """The next row of the last statement's result, or ``None``."""
        row: Row | None = self._cursor.fetchone()
        return row

    def rest_rows(self) -> list[Row]:
        """The remaining rows of the last statement's result."""
        return self._cursor.fetchall()


class TxCursor:
    """The cursor of one write transaction on one pooled connection (DB-API shaped for
    bridged code, coroutines for twins).

    Each statement is awaited in one coroutine with its result rows, so ``fetchone`` and
    ``fetchall`` cost no round trip.
    """

    __slots__ = ("_committing", "_database", "_pool", "_rows", "begun", "conn", "rowcount",
                 "tracker")

    def __init__(self, database: AsyncPostgresDatabase, tracker: Any) -> None:
        self._database = database
        self._pool: Any = None  # the running loop's primary pool, found at BEGIN
        self.tracker: WriteTracker = tracker
        self.conn: Connection | None = None
        self.begun = self._committing = False
        self.rowcount = -1
        self._rows: list[Any] = []

    def execute(self, sql: str, params: Params = ()) -> None:
        """Run one statement (after ``BEGIN`` on a fresh connection when it is the first)."""
        await_(self.run(sql, params))

    def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        """Run one statement for many parameter rows (asyncpg pipelines them)."""
        await_(self.run_many(sql, list(rows)))

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
        pools = self._database.pools
        pool = self._pool = pools.known(PRIMARY) or await pools.pool(PRIMARY)
        for attempt in (1, 2):
            self.conn = conn = await pools.acquire(PRIMARY, pool)
            try:
                await conn.execute("BEGIN")
            except Exception:
                if not closed(conn) or attempt == 2:
                    raise
                self.conn = None
                await pool.release(conn)
                await pool.expire_connections()  # the others the server closed too
                continue
            self.tracker.began()
            self.begun = True
            return conn
        raise AssertionError("unreachable")

    async def run(self, sql: str, params: Params) -> None:
        """Run one statement, keeping its row count and rows."""
        conn: Any = self.conn if self.begun else await self._begin()
        # asyncpg's fetch keeps the command tag internal: its _execute returns both
        rows, status, _ = await conn._execute(numbered(sql), params, 0, None,
                                              return_status=True)
        self.rowcount = _status_count(status.decode())
        self._rows = list(map(tuple, rows))

    async def run_many(self, sql: str, rows: list[Params]) -> None:
        """Run one statement for every parameter row."""
        conn: Any = self.conn if self.begun else await self._begin()
        await conn.executemany(numbered(sql), rows)
        self.rowcount = len(rows)
        self._rows = []

    async def commit(self) -> None:
        """``COMMIT`` and return the connection (nothing when no statement ran)."""
        conn = self.conn
        if conn is None:
            return
        self.tracker.committing()
        self._committing = True
        await conn.execute("COMMIT")
        self.tracker.committed()
        self._committing = False
        self.conn = None
        await self._pool.release(conn)

    async def abandon(self, terminate: bool) -> bool:
        """End the transaction after an error; return whether the server had closed it.

        Rolls back and returns the connection when it can be trusted; terminates it when
        the rollback fails or a ``COMMIT`` was in flight.
        """
        conn = self.conn
        if conn is None:
            return False
        lost = closed(conn)
        self.conn = None
        try:
            if terminate or self._committing:
                conn.terminate()  # the server rolls back what it has open
            elif not lost and conn.is_in_transaction():
                await conn.execute("ROLLBACK")  # after asyncpg's cancel request, if any
        except BaseException:  # the rollback failed or was cancelled too: terminate it
            conn.terminate()
        finally:
            if not self._committing:
                self.tracker.ended()
            await self._pool.release(conn)
        return lost
