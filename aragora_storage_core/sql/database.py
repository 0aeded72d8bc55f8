"""The DB-API database interface the shared SQL stores are written against.

Reads go straight to the driver (``fetch_one``/``fetch_all``): no hook, no context
manager on the hot path. Writes run inside :meth:`SQLDatabase.transaction`, an explicit
transaction that commits on success and rolls back on any exception.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from time import perf_counter
from typing import Any, Protocol

from aragora_storage_core.sql.dialect import Dialect
from aragora_storage_core.sql.slowlog import report

Row = tuple[Any, ...]
Params = Sequence[Any]


class Cursor(Protocol):
    """The part of a DB-API cursor the stores use."""

    @property
    def rowcount(self) -> int:
        """Rows changed by the last statement."""

    def execute(self, sql: str, params: Params = ..., /) -> Any:
        """Run one statement."""
    def executemany(self, sql: str, rows: Iterable[Params], /) -> Any:
        """Run one statement for many parameter rows."""
    def fetchone(self) -> Any:
        """Next row or ``None``."""
    def fetchall(self) -> list[Any]:
        """All remaining rows."""


class Transaction:
    """Statements inside one open transaction, timed for the slow-query log."""

    __slots__ = ("_cursor", "_threshold", "database")

    def __init__(self, cursor: Cursor, database: SQLDatabase) -> None:
        self._cursor = cursor
        self._threshold = database.slow_query_seconds
        self.database = database

    def execute(self, sql: str, params: Params = (), label: str = "execute") -> int:
        """Run one statement; return the number of rows it changed."""
        start = perf_counter()
        self._cursor.execute(sql, params)
        elapsed = perf_counter() - start
        if elapsed > self._threshold:
            report(label, elapsed, self._threshold)
        return self._cursor.rowcount

    def fetch_one(self, sql: str, params: Params = (), label: str = "fetch") -> Row | None:
        """Run a statement and return its first row (``RETURNING`` works too)."""
        start = perf_counter()
        cursor = self._cursor
        cursor.execute(sql, params)
        row: Row | None = cursor.fetchone()
        elapsed = perf_counter() - start
        if elapsed > self._threshold:
            report(label, elapsed, self._threshold)
        return row

    def fetch_all(self, sql: str, params: Params = (), label: str = "fetch") -> list[Row]:
        """Run a statement and return all rows."""
        self.execute(sql, params, label)
        return list(self._cursor.fetchall())

    def next_row(self) -> Row | None:
        """The next row of the last statement's result, or ``None``."""
        row: Row | None = self._cursor.fetchone()
        return row

    def rest_rows(self) -> list[Row]:
        """The remaining rows of the last statement's result."""
        return list(self._cursor.fetchall())

    def execute_many(self, sql: str, rows: Iterable[Params], label: str = "bulk") -> int:
        """Run one statement for many rows with the driver's fastest bulk method."""
        start = perf_counter()
        count = self.database.bulk_execute(self._cursor, sql, rows)
        elapsed = perf_counter() - start
        if elapsed > self._threshold:
            report(label, elapsed, self._threshold)
        return count


class SQLDatabase(ABC):
    """One SQL database as the stores see it.

    Subclasses provide connections; this class provides the timing and the contract.
    ``integrity_error`` is the driver's unique/foreign-key violation class.
    """

    dialect: Dialect
    integrity_error: type[Exception]
    slow_query_seconds: float = 0.5
    label: str = "database"

    @abstractmethod
    def fetch_one(self, sql: str, params: Params = (), label: str = "fetch") -> Row | None:
        """Run a read-only statement outside any transaction; return the first row."""

    @abstractmethod
    def fetch_all(self, sql: str, params: Params = (), label: str = "fetch") -> list[Row]:
        """Run a read-only statement outside any transaction; return every row."""

    @abstractmethod
    def transaction(self) -> AbstractContextManager[Transaction]:
        """Open a write transaction: commit when the block ends, roll back if it raises.

        A transaction opened inside another on the same thread joins the outer one.
        """

    def bulk_execute(self, cursor: Cursor, sql: str, rows: Iterable[Params]) -> int:
        """Run ``sql`` for every row; DB-API ``executemany`` unless the driver has better."""
        rows = list(rows)
        cursor.executemany(sql, rows)
        return len(rows)

    def bulk_load(self, table: str, columns: Sequence[str], key: Sequence[str],
                  batches: Iterable[Sequence[Row]], commit_rows: int = 0) -> Iterator[int]:
        """Write every row of ``batches`` into ``table``, replacing a row with the same ``key``.

        Yields the rows of each committed transaction as it commits. This generic way
        upserts one batch per transaction (``commit_rows`` is a hint it does not need); a
        backend with a faster bulk path (PostgreSQL's ``COPY``) overrides it.
        """
        quote = self.dialect.quote
        names = [quote(c) for c in columns]
        keys = [quote(c) for c in key]
        sql = self.dialect.upsert(quote(table), names, keys,
                                  replace=[c for c in names if c not in keys])
        for rows in batches:
            with self.transaction() as tx:
                tx.execute_many(sql, rows, label=f"copy.{table}")
            yield len(rows)

    #: True when :meth:`stream` reads a whole result in batches from one cursor.
    streams: bool = False

    def stream(self, sql: str, params: Params = (), size: int = 1000,
               label: str = "stream") -> Iterator[list[Row]]:
        """Every row of one read, ``size`` rows at a time, from one cursor (flat memory).

        Only where :attr:`streams` is true; elsewhere a reader pages by key instead.
        """
        raise NotImplementedError(f"{type(self).__name__} does not stream reads")

    def exists(self) -> bool:
        """False when the database has not been created yet (nothing to read)."""
        return True

    def migration_session(self) -> AbstractContextManager[SQLDatabase]:
        """Exclusive access for a migrator; the default relies on per-transaction locks."""
        return _same(self)

    def close(self) -> None:
        """Close every connection this database opened."""

    def timed(self, label: str, start: float) -> None:
        """Report a statement that started at ``start`` if it ran past the threshold."""
        elapsed = perf_counter() - start
        if elapsed > self.slow_query_seconds:
            report(label, elapsed, self.slow_query_seconds)


@contextmanager
def _same(database: SQLDatabase) -> Iterator[SQLDatabase]:
    yield database
