"""A migration that fails names its file, the statement and the database's own message."""

from __future__ import annotations

import sqlite3
import textwrap
from pathlib import Path

import pytest

from aragora_storage_core.errors import MigrationError
from aragora_storage_core.migrations.engine import Migrator
from aragora_storage_core.sql.database import SQLDatabase
from aragora_storage_core.sqlite.database import SQLiteDatabase

GOOD = "CREATE TABLE a (id INTEGER PRIMARY KEY);\n"


def write(root: Path, name: str, text: str) -> Path:
    path = root / "demo" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def failing_run(database: SQLDatabase, root: Path) -> MigrationError:
    with pytest.raises(MigrationError) as caught:
        Migrator(database, "demo", "demo", root).migrate()
    return caught.value


@pytest.fixture
def root(tmp_path: Path) -> Path:
    write(tmp_path / "m", "001_first.sql", GOOD)
    return tmp_path / "m"


def test_a_failing_sql_statement_is_named_with_the_database_message(
        tmp_path: Path, root: Path) -> None:
    write(root, "002_broken.sql", """
        CREATE TABLE b (id INTEGER);
        -- the second statement has a typo
        CRATE TABLE c (id INTEGER);
        CREATE TABLE d (id INTEGER);
    """)
    db = tmp_path / "demo.db"
    error = failing_run(SQLiteDatabase(db), root)
    assert error.message.startswith("migration demo/002_broken.sql failed at statement 2: ")
    assert 'near "CRATE": syntax error' in error.message
    assert "002_broken.sql" in error.hint and "migrate --migrate" in error.hint
    with sqlite3.connect(db) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_version")]
    assert "a" in names and "b" not in names and versions == [1]


def test_a_failing_python_migration_names_the_statement(tmp_path: Path, root: Path) -> None:
    write(root, "002_code.py", """
        def upgrade(ctx):
            ctx.execute("CREATE TABLE b (id INTEGER)")
            ctx.execute("INSERT INTO b VALUES (1)")
            ctx.execute("INSERT INTO missing VALUES (1)")
    """)
    error = failing_run(SQLiteDatabase(tmp_path / "demo.db"), root)
    assert "demo/002_code.py failed at statement 3" in error.message
    assert "no such table: missing" in error.message


def test_an_exception_of_the_migrations_own_code_is_named(tmp_path: Path, root: Path) -> None:
    write(root, "002_code.py", """
        def upgrade(ctx):
            raise ValueError("the config table has no row for 'theme'")
    """)
    error = failing_run(SQLiteDatabase(tmp_path / "demo.db"), root)
    assert "demo/002_code.py failed before its first statement" in error.message
    assert "ValueError: the config table has no row for 'theme'" in error.message
