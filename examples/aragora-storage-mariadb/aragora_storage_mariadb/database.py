"""One MariaDB database over PyMySQL: a connection per thread, explicit transactions."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from time import perf_counter
from typing import Any

import pymysql
from pymysql.constants import CLIENT, FIELD_TYPE
from pymysql.converters import conversions

from aragora_storage_core.plugin_api import (
    BackendUnavailableError,
    MigrationError,
    Params,
    Row,
    SQLDatabase,
    StorageURL,
    Transaction,
)
from aragora_storage_mariadb.dialect import MARIADB

#: ``SUM()`` of integers comes back as DECIMAL: give the stores ints (or floats).
_CONVERSIONS: dict[Any, Any] = {**conversions,
                                 FIELD_TYPE.NEWDECIMAL: lambda text: _number(Decimal(text))}
MIGRATION_LOCK = "aragora_storage.migrations"


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def where(url: StorageURL) -> str:
    """``host:port/database`` for messages (never the password)."""
    return f"{url.host or 'localhost'}:{url.port or 3306}/{url.database}"


class _ThreadState(threading.local):
    connection: Any = None
    depth = 0


class MariaDBDatabase(SQLDatabase):
    """Every logical database's tables in one MariaDB database."""

    dialect = MARIADB
    integrity_error = pymysql.err.IntegrityError

    def __init__(self, url: StorageURL, slow_query_ms: float, timeout: float) -> None:
        self.url = url
        self.label = url.database or "mariadb"
        self.slow_query_seconds = slow_query_ms / 1000.0
        self.timeout = timeout
        self._state = _ThreadState()
        self._opened: list[Any] = []
        self._lock = threading.Lock()

    def _connection(self) -> Any:
        state = self._state
        if state.connection is None or not state.connection.open:
            try:
                state.connection = pymysql.connect(
                    host=self.url.host or "localhost", port=self.url.port or 3306,
                    user=self.url.username or "root", password=self.url.password or "",
                    database=self.url.database, charset="utf8mb4", autocommit=True,
                    connect_timeout=self.timeout, conv=_CONVERSIONS,
                    client_flag=CLIENT.FOUND_ROWS)  # rowcount = rows matched, as elsewhere
            except pymysql.err.OperationalError as error:
                raise BackendUnavailableError(
                    f"cannot reach MariaDB at {where(self.url)} ({error.args[0]})",
                    "check the server is running and the URL's user, host and database"
                ) from None
            with self._lock:
                self._opened.append(state.connection)
        return state.connection

    def _run(self, sql: str, params: Params, label: str, every: bool) -> Any:
        start = perf_counter()
        with self._connection().cursor() as cursor:
            cursor.execute(sql, tuple(params) or None)
            result = cursor.fetchall() if every else cursor.fetchone()
        self.timed(label, start)
        return result

    def fetch_one(self, sql: str, params: Params = (), label: str = "fetch") -> Row | None:
        """Run a read; return the first row."""
        row: Row | None = self._run(sql, params, label, every=False)
        return row

    def fetch_all(self, sql: str, params: Params = (), label: str = "fetch") -> list[Row]:
        """Run a read; return every row."""
        return list(self._run(sql, params, label, every=True))

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """``BEGIN`` ... ``COMMIT``; ``ROLLBACK`` if the block raises; nested ones join."""
        state, connection = self._state, self._connection()
        with connection.cursor(_Cursor) as cursor:
            if state.depth:
                yield Transaction(cursor, self)
                return
            connection.begin()
            state.depth = 1
            try:
                yield Transaction(cursor, self)
                connection.commit()
            except BaseException:
                connection.rollback()
                raise
            finally:
                state.depth = 0

    @contextmanager
    def migration_session(self) -> Iterator[SQLDatabase]:
        """One migrator at a time: a named server lock held for the whole run."""
        got = self.fetch_one("SELECT GET_LOCK(%s, %s)", (MIGRATION_LOCK, self.timeout))
        if not got or got[0] != 1:
            raise MigrationError(f"another process is migrating {where(self.url)}",
                                 "wait for it to finish, then migrate again")
        try:
            yield self
        finally:
            self.fetch_one("SELECT RELEASE_LOCK(%s)", (MIGRATION_LOCK,))

    def close(self) -> None:
        """Close every connection this database opened."""
        with self._lock:
            for connection in self._opened:
                if connection.open:
                    connection.close()
            self._opened.clear()


class _Cursor(pymysql.cursors.Cursor):
    """A cursor that sends statements without parameters unformatted (``%`` stays ``%``)."""

    def execute(self, query: str, args: Any = None) -> int:
        """Run ``query``; an empty parameter tuple means none."""
        return int(super().execute(query, tuple(args) if args else None))
