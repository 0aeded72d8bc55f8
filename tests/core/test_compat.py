"""The seed's programmatic API: WAL connections, DatabaseManager, safe_add_column."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from aragora_storage_core import DatabaseManager, get_wal_connection, safe_add_column
from aragora_storage_core.models import User
from aragora_storage_core.registry import Registry


def test_wal_connection_has_the_project_pragmas(tmp_path: Path) -> None:
    conn = get_wal_connection(tmp_path / "db.db", timeout=60.0)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert conn.execute("PRAGMA synchronous").fetchone() == (1,)
    assert conn.execute("PRAGMA foreign_keys").fetchone() == (1,)
    assert conn.execute("PRAGMA busy_timeout").fetchone() == (60000,)
    assert (tmp_path / "db.db").stat().st_mode & 0o777 == 0o600


def test_database_manager_is_one_instance_with_a_connection_per_thread(tmp_path: Path) -> None:
    path = tmp_path / "users.db"
    manager = DatabaseManager.get_instance("users", path)
    try:
        assert DatabaseManager.get_instance("users", path) is manager
        mine = manager.get_connection()
        assert manager.get_connection() is mine
        theirs: list[object] = []
        thread = threading.Thread(target=lambda: theirs.append(manager.get_connection()))
        thread.start()
        thread.join()
        assert theirs[0] is not mine
        with manager.transaction() as tx:
            tx.execute("CREATE TABLE t (x INTEGER)")
        assert mine.execute("SELECT count(*) FROM t").fetchone() == (0,)
    finally:
        DatabaseManager.close_all()


def test_safe_add_column_adds_once(tmp_path: Path) -> None:
    conn = get_wal_connection(tmp_path / "db.db")
    conn.execute("CREATE TABLE users (id TEXT)")
    assert safe_add_column(conn, "users", "new_field", "TEXT", "NULL") is True
    assert safe_add_column(conn, "users", "new_field", "TEXT", "NULL") is False
    assert safe_add_column(conn, "users", "score", "INTEGER", "0") is True
    conn.execute("INSERT INTO users (id) VALUES ('a')")
    assert conn.execute("SELECT new_field, score FROM users").fetchone() == (None, 0)
    with pytest.raises(ValueError):
        safe_add_column(conn, "users; DROP TABLE users", "x", "TEXT")


def test_safe_add_column_takes_sized_types_and_refuses_sql_in_the_type(tmp_path: Path) -> None:
    conn = get_wal_connection(tmp_path / "sized.db")
    conn.execute("CREATE TABLE users (id TEXT)")
    assert safe_add_column(conn, "users", "nickname", "VARCHAR(255)") is True
    assert safe_add_column(conn, "users", "balance", "DECIMAL(10, 2)", "0") is True
    for bad in ("TEXT; DROP TABLE users", "TEXT -- x", "TEXT DEFAULT 'x'"):
        with pytest.raises(ValueError):
            safe_add_column(conn, "users", "other", bad)
    columns = {row[1] for row in conn.execute("PRAGMA table_info(users)")}
    assert columns == {"id", "nickname", "balance"}
    conn.close()


def test_slow_queries_are_logged_in_the_seed_format(caplog: pytest.LogCaptureFixture,
                                                    tmp_path: Path) -> None:
    registry = Registry(env={"ARAGORA_SLOW_QUERY_MS": "0", "ARAGORA_DATA_DIR": str(tmp_path)})
    users = registry.store("users")
    with caplog.at_level(logging.WARNING, logger="aragora_storage.slow_query"):
        users.create(User("u1", "slow@example.com", "h", "s"))
        users.get_by_id("u1")
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("Slow query (") and "users.get_by_id" in m
               and "(threshold: 0.000s)" in m for m in messages), messages
    assert not any("slow@example.com" in m for m in messages)
    registry.close()


def test_fast_queries_are_not_logged(caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    registry = Registry(env={"ARAGORA_SLOW_QUERY_MS": "60000", "ARAGORA_DATA_DIR": str(tmp_path)})
    with caplog.at_level(logging.WARNING, logger="aragora_storage.slow_query"):
        registry.store("users").get_by_id("nobody")
    assert caplog.records == []
    registry.close()
