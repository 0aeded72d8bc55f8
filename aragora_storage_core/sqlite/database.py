"""A SQLite database for the shared SQL stores: a connection per thread, explicit writes.

Writes open with ``BEGIN IMMEDIATE`` so the write lock is taken up front (no upgrade
deadlock between two readers turning writers). When SQLite still answers "busy" (its
busy handler gives up, or a checkpoint holds the lock) the start is retried with jittered
back-off until ``DB_TIMEOUT``; only then does the caller see a :class:`TransactionError`.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from time import perf_counter
from types import TracebackType
from typing import Any

from aragora_storage_core.causes import root_cause
from aragora_storage_core.encryption.sqlcipher import DatabaseKey, cipher_salt, driver
from aragora_storage_core.errors import CorruptDatabaseError, TransactionError
from aragora_storage_core.sql.database import Params, Row, SQLDatabase, Transaction
from aragora_storage_core.sql.dialect import SQLITE
from aragora_storage_core.sql.slowlog import report
from aragora_storage_core.sqlite.connection import connect, is_busy, retry_while_busy
from aragora_storage_core.sqlite.inspect import connect_to_inspect

#: Seconds SQLite's busy handler may wait on its own before we retry with jitter.
BUSY_SLICE = 0.05


class SQLiteDatabase(SQLDatabase):
    """One SQLite file (or ``:memory:``) shared by the stores of every thread."""

    dialect = SQLITE
    integrity_error = sqlite3.IntegrityError

    def __init__(self, path: str | Path, *, timeout: float = 30.0,
                 slow_query_ms: float = 500.0, key: DatabaseKey | None = None,
                 read_only: bool = False) -> None:
        self.path = str(path)
        #: Only inspect: connections change no byte of any file, writes are refused.
        self.read_only = read_only
        self.key = key
        if key is not None:
            self.integrity_error = driver().IntegrityError
        self.label = Path(self.path).name
        self.timeout = timeout
        self.slow_query_seconds = slow_query_ms / 1000.0
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._salt: bytes | None = None
        _OPEN.add(self)

    def exists(self) -> bool:
        """True for ``:memory:`` and for a file that is already there."""
        return self.path == ":memory:" or Path(self.path).exists()

    def connection(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        try:
            conn: sqlite3.Connection = self._local.conn
            return conn
        except AttributeError:
            if self.read_only:
                conn = connect_to_inspect(Path(self.path), self.timeout, key=self.key)
            else:
                conn = connect(self.path, self.timeout, key=self.key, salt=self._salt)
            if self.key is not None and self._salt is None and self.path != ":memory:":
                self._salt = cipher_salt(conn)  # later threads never re-read the header
            # SQLite's own busy handler waits in ever longer sleeps and can starve a
            # writer; it gets a short slice and ``begin`` retries with jitter instead.
            conn.execute(f"PRAGMA busy_timeout = {int(min(self.timeout, BUSY_SLICE) * 1000)}")
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
            return conn

    def fetch_one(self, sql: str, params: Params = (), label: str = "fetch") -> Row | None:
        """Run a read on this thread's connection; return the first row."""
        try:
            conn = self._local.conn
        except AttributeError:
            conn = self.connection()
        start = perf_counter()
        try:
            row: Row | None = conn.execute(sql, params).fetchone()
        except conn.DatabaseError as exc:
            row = self._retry_read(exc, conn, lambda: conn.execute(sql, params).fetchone())
        elapsed = perf_counter() - start
        if elapsed > self.slow_query_seconds:
            report(label, elapsed, self.slow_query_seconds)
        return row

    def fetch_all(self, sql: str, params: Params = (), label: str = "fetch") -> list[Row]:
        """Run a read on this thread's connection; return every row."""
        try:
            conn = self._local.conn
        except AttributeError:
            conn = self.connection()
        start = perf_counter()
        try:
            rows: list[Row] = conn.execute(sql, params).fetchall()
        except conn.DatabaseError as exc:
            rows = self._retry_read(exc, conn, lambda: conn.execute(sql, params).fetchall())
        elapsed = perf_counter() - start
        if elapsed > self.slow_query_seconds:
            report(label, elapsed, self.slow_query_seconds)
        return rows

    streams = True

    def stream(self, sql: str, params: Params = (), size: int = 1000,
               label: str = "stream") -> Iterator[list[Row]]:
        """Every row of one read from one cursor of this thread's connection, ``size`` rows
        at a time: one read transaction (a consistent snapshot), memory flat."""
        conn = self.connection()
        try:
            cursor = conn.execute(sql, params)
        except conn.DatabaseError as exc:
            cursor = self._retry_read(exc, conn, lambda: conn.execute(sql, params))
        try:
            while rows := cursor.fetchmany(size):
                yield rows
        finally:
            cursor.close()

    def _retry_read(self, exc: Exception, conn: sqlite3.Connection,
                    read: Callable[[], Any]) -> Any:
        """After a failed read: retry "busy" with jitter until ``DB_TIMEOUT``; else explain."""
        if not is_busy(exc):
            raise corrupt_or_same(exc, self.path, conn.DatabaseError) from None
        return retry_while_busy(read, self.timeout, self.path)

    def transaction(self) -> WriteTransaction:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``; ``ROLLBACK`` if the block raises."""
        if self.read_only:
            raise TransactionError(f"{self.label} is open read-only (to inspect it)",
                                   "run the command that changes it outside doctor")
        tx = _new_transaction(WriteTransaction)  # no __init__ frame on every write
        tx.database = tx._owner = self
        return tx

    def close(self) -> None:
        """Close the connections of every thread."""
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()
        self._salt = None  # the file may be replaced (restore) before the next open


class WriteTransaction(Transaction):
    """The transaction :meth:`SQLiteDatabase.transaction` opens: its own context manager.

    One object per write, entered as it is (no generator, no second object), on one
    cursor that also sends ``BEGIN IMMEDIATE`` and ``COMMIT``: the path from a store to
    SQLite touches as few objects as a hand-written write (``benchmarks/bench_sqlite.py``).
    Inside another transaction of the same thread it joins that one.
    """

    __slots__ = ("_conn", "_joined", "_owner")

    def __init__(self, database: SQLiteDatabase) -> None:
        self.database = self._owner = database

    def __enter__(self) -> Transaction:
        database = self._owner
        try:
            conn = database._local.conn
        except AttributeError:
            conn = database.connection()
        self._conn = conn
        self._threshold = database.slow_query_seconds
        cursor = self._cursor = conn.cursor()
        self._joined = conn.in_transaction
        if not self._joined:
            try:
                cursor.execute("BEGIN IMMEDIATE")
            except conn.OperationalError as exc:
                if not is_busy(exc):
                    raise
                retry_while_busy(lambda: cursor.execute("BEGIN IMMEDIATE"), database.timeout,
                                 database.path)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._joined:
            return
        conn = self._conn
        if exc is not None:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(exc, conn.DatabaseError):
                raise corrupt_or_same(exc, self._owner.path, conn.DatabaseError) from None
            return
        try:
            self._cursor.execute("COMMIT")
        except conn.OperationalError as error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise TransactionError(
                f"could not commit to {self.database.label}: {error}", "retry the operation"
            ) from None


_new_transaction = object.__new__

#: Every SQLiteDatabase, so a forked child can drop the connections it inherited.
_OPEN: weakref.WeakSet[SQLiteDatabase] = weakref.WeakSet()
#: Connections inherited over ``fork``: kept referenced (closing them in the child could
#: disturb the parent's locks) and never used again.
_INHERITED: list[sqlite3.Connection] = []


def _forget_inherited_connections() -> None:
    """In a forked child, make every database open fresh connections on next use."""
    for database in list(_OPEN):
        _INHERITED.extend(database._connections)
        database._connections = []
        database._local = threading.local()
        database._lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_inherited_connections)


def corrupt_or_same(exc: Exception, path: str,
                    base: type[Exception] = sqlite3.DatabaseError) -> Exception:
    """A damaged file becomes :class:`CorruptDatabaseError`; other driver errors stay.

    ``base`` is the driver's ``DatabaseError`` (``sqlite3`` or ``sqlcipher3``). A full
    disk or a read-only place is named as such (:func:`~aragora_storage_core.causes.root_cause`).
    """
    cause = root_cause(exc, path)
    if cause is not None:
        return cause
    if type(exc) is not base:
        return exc
    return CorruptDatabaseError(
        f"{Path(path).name} is damaged ({exc})",
        f"restore {path} from a backup: aragora-storage backup restore",
    )
