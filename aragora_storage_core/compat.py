"""The seed's programmatic API: WAL connections, a connection manager, safe columns."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any, ClassVar

from aragora_storage_core.encryption.sqlcipher import sqlite_key_for
from aragora_storage_core.migrations.context import MigrationContext
from aragora_storage_core.settings import Settings
from aragora_storage_core.sql.dialect import SQLITE, check_identifier
from aragora_storage_core.sqlite.connection import connect
from aragora_storage_core.sqlite.database import SQLiteDatabase


def get_wal_connection(path: str | Path, timeout: float = 30.0) -> sqlite3.Connection:
    """Open ``path`` with the project's pragmas (WAL, ``synchronous=NORMAL``, foreign keys).

    The connection is in autocommit mode: wrap writes in ``BEGIN IMMEDIATE`` / ``COMMIT``
    (or use a store), never rely on the driver's implicit transactions. With
    ``ARAGORA_SQLITE_ENCRYPTION=1`` it is a SQLCipher connection keyed from the environment.
    """
    return connect(path, timeout, key=sqlite_key_for(Settings.from_env()))


def get_encrypted_connection(path: str | Path, timeout: float = 30.0) -> Any:
    """Open ``path`` encrypted with SQLCipher using ``ARAGORA_SQLITE_KEY`` (or its file).

    Needs no ``ARAGORA_SQLITE_ENCRYPTION``; raises a typed error (never a plain connection)
    when the key or ``sqlcipher3`` is missing, the key is wrong, or the file is plain.
    """
    from aragora_storage_core.encryption.sqlcipher import open_encrypted

    return open_encrypted(path, timeout=timeout)


class DatabaseManager:
    """One shared, thread-aware connection source per database (seed-compatible).

    ``DatabaseManager.get_instance("users", path).get_connection()`` returns this
    thread's connection to ``path``.
    """

    _instances: ClassVar[dict[tuple[str, str], DatabaseManager]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, name: str, path: str | Path, timeout: float = 30.0) -> None:
        self.name = name
        self.database = SQLiteDatabase(path, timeout=timeout,
                                       key=sqlite_key_for(Settings.from_env()))

    @classmethod
    def get_instance(cls, name: str, path: str | Path, timeout: float = 30.0) -> DatabaseManager:
        """The manager of ``(name, path)``, created on first request."""
        key = (name, str(path))
        with cls._lock:
            instance = cls._instances.get(key)
            if instance is None:
                instance = cls._instances[key] = cls(name, path, timeout)
            return instance

    def get_connection(self) -> sqlite3.Connection:
        """This thread's connection."""
        return self.database.connection()

    def transaction(self) -> Any:
        """A ``BEGIN IMMEDIATE`` transaction on this thread's connection."""
        return self.database.transaction()

    @classmethod
    def close_all(cls) -> None:
        """Close every manager's connections and forget the managers."""
        with cls._lock:
            for instance in cls._instances.values():
                instance.database.close()
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
