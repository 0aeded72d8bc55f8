"""A read that meets a locked database waits (up to DB_TIMEOUT) instead of failing."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from aragora_storage_core.errors import TransactionError
from aragora_storage_core.sqlite.database import SQLiteDatabase, retry_while_busy


def _lock_exclusively(path: Path) -> sqlite3.Connection:
    """A connection holding the file in exclusive locking mode: other readers get BUSY."""
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO t VALUES (2)")
    holder.execute("COMMIT")
    return holder


def _database(tmp_path: Path, timeout: float) -> SQLiteDatabase:
    database = SQLiteDatabase(tmp_path / "busy.db", timeout=timeout)
    with database.transaction() as tx:
        tx.execute("CREATE TABLE t (x INTEGER)")
        tx.execute("INSERT INTO t VALUES (1)")
    database.close()
    return database


def test_a_read_waits_for_an_exclusive_lock_to_go(tmp_path: Path) -> None:
    database = _database(tmp_path, timeout=10.0)
    holder = _lock_exclusively(tmp_path / "busy.db")
    releaser = threading.Timer(0.4, holder.close)
    releaser.start()
    started = time.monotonic()
    try:
        assert database.fetch_all("SELECT x FROM t ORDER BY x") == [(1,), (2,)]
    finally:
        releaser.join()
        database.close()
    assert time.monotonic() - started >= 0.3


def test_a_read_locked_out_past_the_timeout_is_a_typed_error(tmp_path: Path) -> None:
    database = _database(tmp_path, timeout=0.3)
    holder = _lock_exclusively(tmp_path / "busy.db")
    try:
        with pytest.raises(TransactionError, match="locked"):
            database.fetch_one("SELECT count(*) FROM t")
    finally:
        holder.close()
        database.close()


def test_busy_answers_are_retried_with_back_off_until_the_lock_goes(tmp_path: Path) -> None:
    """The retry loop behind reads and BEGIN IMMEDIATE, against a really locked file.

    (An open WAL connection keeps a shared lock, so no other connection can take the
    exclusive one this test uses; the loop serves SQLite's rarer busy answers to readers,
    such as a WAL index being rebuilt after a crash.)
    """
    _database(tmp_path, timeout=10.0)
    holder = _lock_exclusively(tmp_path / "busy.db")
    releaser = threading.Timer(0.4, holder.close)
    releaser.start()
    attempts: list[int] = []

    def read() -> object:
        attempts.append(1)
        conn = sqlite3.connect(tmp_path / "busy.db", timeout=0)
        try:
            return conn.execute("SELECT count(*) FROM t").fetchone()
        finally:
            conn.close()

    try:
        assert retry_while_busy(read, 10.0, "busy.db") == (2,)
    finally:
        releaser.join()
    assert len(attempts) > 1
