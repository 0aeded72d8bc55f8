"""The seed's programmatic API: WAL connections, a connection manager, safe columns."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

from aragora_storage_core.encryption.sqlcipher import sqlite_key_for
from aragora_storage_core.migrations.context import MigrationContext
from aragora_storage_core.settings import Settings
from aragora_storage_core.sql.dialect import SQLITE, check_identifier
from aragora_storage_core.sqlite.connection import connect


def get_wal_connection(path: str | Path, timeout: float | None = None) -> sqlite3.Connection:
    """Open ``path`` with the project's pragmas (WAL, ``synchronous=NORMAL``, foreign keys).

    As in the seed, the connection keeps sqlite3's standard transaction behaviour: a
    write opens a transaction that ``conn.commit()`` keeps and ``conn.rollback()`` undoes.
    ``timeout`` (default ``DB_TIMEOUT``) is how long a write waits for another writer. With
    ``ARAGORA_SQLITE_ENCRYPTION=1`` it is a SQLCipher connection keyed from the environment.
    """
    settings = Settings.from_env()
    conn = connect(path, settings.db_timeout if timeout is None else timeout,
                   key=sqlite_key_for(settings))
    conn.isolation_level = "DEFERRED"  # sqlite3's default: implicit BEGIN before a write
    return conn


def get_encrypted_connection(path: str | Path, timeout: float = 30.0) -> Any:
    """Open ``path`` encrypted with SQLCipher using ``ARAGORA_SQLITE_KEY`` (or its file).

    Needs no ``ARAGORA_SQLITE_ENCRYPTION``; raises a typed error (never a plain connection)
    when the key or ``sqlite3`` is missing, the key is wrong, or the file is plain.
    """
    from aragora_storage_core.sqlite.connection import open_encrypted

    return open_encrypted(path, timeout=timeout)


class DatabaseManager:
    """One shared connection source per database file (seed-compatible).

    ``DatabaseManager.get_instance("/path/users.db")`` (or the seed's
    ``get_instance("users", "/path/users.db")``) is one instance per file; its
    connections (one per thread, from :func:`get_wal_connection`) wait ``DB_TIMEOUT`` (or
    ``timeout``) for a lock. ``connection()`` commits when its block ends and rolls back if
    it raises; ``transaction()`` does the same inside ``BEGIN IMMEDIATE``.
    """

    _instances: ClassVar[dict[str, DatabaseManager]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, path: str | Path, timeout: float | None = None,
                 name: str | None = None) -> None:
        self.path = Path(path)
        self.name = name or self.path.stem
        self.timeout = Settings.from_env().db_timeout if timeout is None else timeout
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._opened_lock = threading.Lock()

    @classmethod
    def get_instance(cls, name_or_path: str | Path, path: str | Path | float | None = None,
                     timeout: float | None = None) -> DatabaseManager:
        """The manager of a file: ``get_instance(path[, timeout])`` or the seed's
        ``get_instance(name, path[, timeout])``; created on first request."""
        if path is None or isinstance(path, int | float):
            name, where = None, Path(name_or_path)
            timeout = float(path) if path is not None else timeout
        else:
            name, where = str(name_or_path), Path(path)
        key = str(where.absolute())
        with cls._lock:
            instance = cls._instances.get(key)
            if instance is None:
                instance = cls._instances[key] = cls(where, timeout, name)
            return instance

    def get_connection(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = get_wal_connection(self.path, self.timeout)
            with self._opened_lock:
                self._opened.append(conn)
        return conn

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection; commit when the block ends, roll back if it raises."""
        conn = self.get_connection()
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        conn.commit()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` (waiting for other writers), then commit or roll back."""
        conn = self.get_connection()
        if conn.in_transaction:
            conn.commit()  # a transaction left open by plain calls: keep what it wrote
        conn.execute("BEGIN IMMEDIATE")
        with self.connection() as same:
            yield same

    def close(self) -> None:
        """Close every connection this manager opened."""
        with self._opened_lock:
            for conn in self._opened:
                conn.close()
            self._opened.clear()
        self._local = threading.local()

    @classmethod
    def close_all(cls) -> None:
        """Close every manager's connections and forget the managers."""
        with cls._lock:
            for instance in cls._instances.values():
                instance.close()
            cls._instances.clear()


def safe_add_column(conn: sqlite3.Connection | MigrationContext, table: str, column: str,
                    column_type: str, default: str | None = None) -> bool:
    """Add ``column`` to ``table`` unless it exists; return whether it was added.

    Works on a seed-style ``sqlite3`` connection or a migration's ``ctx``. ``default`` is
    SQL text (``"NULL"``, ``"0"``, ``"'x'"``) as in the seed.
    """
    check_identifier(table)
    check_identifier(column)
    if not column_type.strip() or not all(ch.isalnum() or ch in "_(), " for ch in column_type):
        raise ValueError(f"not a plain column type: {column_type!r}")
    sql = f"ALTER TABLE {table} ADD COLUMN {column} {column_type}"
    if default is not None and default.upper() != "NULL":
        sql += f" DEFAULT {default}"
    if isinstance(conn, MigrationContext):
        if column in conn.columns(table):
            return False
        conn.execute(sql)
        return True
    existing = {row[0] for row in conn.execute(SQLITE.columns_sql, (table,))}
    if column in existing:
        return False
    conn.execute(sql)
    return True
