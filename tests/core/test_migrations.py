"""The migrations engine: all-or-nothing, once per version, checksums, downgrades."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from aragora_storage_core.errors import ChecksumMismatchError, MigrationError
from aragora_storage_core.migrations.engine import Migrator
from aragora_storage_core.sqlite.database import SQLiteDatabase


def write(root: Path, name: str, text: str) -> Path:
    path = root / "demo" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def versions(path: Path) -> list[int]:
    with sqlite3.connect(path) as conn:
        return [r[0] for r in conn.execute(
            "SELECT version FROM schema_version WHERE database='demo' ORDER BY version")]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "migrations"
    write(root, "001_first.sql", """
        CREATE TABLE a (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT);
        -- migrate:down
        DROP TABLE a;
    """)
    write(root, "002_second.py", '''
        def upgrade(ctx):
            ctx.execute("CREATE TABLE b (id INTEGER PRIMARY KEY, note TEXT DEFAULT 'x;y')")
            ctx.execute("INSERT INTO b (id) VALUES (?)", (1,))

        def downgrade(ctx):
            ctx.execute("DROP TABLE b")
    ''')
    return root


def migrator(db: Path, root: Path) -> Migrator:
    return Migrator(SQLiteDatabase(db), "demo", db.name, root)


def test_migrate_applies_in_order_and_records_checksums(tmp_path: Path, root: Path) -> None:
    db = tmp_path / "demo.db"
    status = migrator(db, root).migrate()
    assert status.ran == ["001_first", "002_second"]
    assert {"a", "b", "schema_version"} <= tables(db)
    again = migrator(db, root).status()
    assert again.pending == [] and again.version == 2
    assert all(len(a.checksum) == 64 and a.duration_ms >= 0 for a in again.applied)


def test_status_and_dry_run_create_no_file(tmp_path: Path, root: Path) -> None:
    db = tmp_path / "absent.db"
    status = migrator(db, root).status()
    assert [m.version for m in status.pending] == [1, 2]
    assert not db.exists()


def test_failing_statement_rolls_back_the_whole_migration(tmp_path: Path, root: Path) -> None:
    write(root, "003_broken.sql", """
        CREATE TABLE c (id INTEGER);
        INSERT INTO no_such_table VALUES (1);
    """)
    db = tmp_path / "demo.db"
    with pytest.raises(MigrationError, match=r"003_broken\.sql failed at statement 2"):
        migrator(db, root).migrate()
    assert "c" not in tables(db)
    assert versions(db) == [1, 2]


def test_migration_killed_half_way_leaves_nothing_behind(tmp_path: Path, root: Path) -> None:
    write(root, "003_killed.py", '''
        import os, signal

        def upgrade(ctx):
            ctx.execute("CREATE TABLE c (id INTEGER)")
            ctx.execute("INSERT INTO c VALUES (1)")
            os.kill(os.getpid(), signal.SIGKILL)
    ''')
    db = tmp_path / "demo.db"
    script = (
        "import sys; from pathlib import Path;"
        "from aragora_storage_core.migrations.engine import Migrator;"
        "from aragora_storage_core.sqlite.database import SQLiteDatabase;"
        f"Migrator(SQLiteDatabase({str(db)!r}), 'demo', 'demo.db', Path({str(root)!r})).migrate()"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert result.returncode == -9
    assert "c" not in tables(db)
    assert versions(db) == [1, 2]
    (root / "demo" / "003_killed.py").write_text(
        "def upgrade(ctx):\n    ctx.execute('CREATE TABLE c (id INTEGER)')\n")
    assert migrator(db, root).migrate().ran == ["003_killed"]


def test_changed_applied_file_is_reported_and_nothing_runs(tmp_path: Path, root: Path) -> None:
    db = tmp_path / "demo.db"
    migrator(db, root).migrate(target=1)
    write(root, "001_first.sql", "CREATE TABLE a (id INTEGER PRIMARY KEY, other TEXT);")
    m = migrator(db, root)
    assert [c.version for c in m.status().changed] == [1]
    with pytest.raises(ChecksumMismatchError) as caught:
        m.migrate()
    assert "001_first.sql" in caught.value.message
    assert versions(db) == [1] and "b" not in tables(db)


def test_downgrade_reverses_newest_first(tmp_path: Path, root: Path) -> None:
    db = tmp_path / "demo.db"
    migrator(db, root).migrate()
    status = migrator(db, root).downgrade(0)
    assert status.ran == ["-002_second", "-001_first"]
    assert status.version == 0 and len(status.pending) == 2
    assert {"a", "b"} & tables(db) == set()
    assert versions(db) == []


def test_downgrade_without_down_section_changes_nothing(tmp_path: Path, root: Path) -> None:
    write(root, "003_oneway.sql", "CREATE TABLE c (id INTEGER);")
    db = tmp_path / "demo.db"
    migrator(db, root).migrate()
    with pytest.raises(MigrationError, match="cannot be reversed"):
        migrator(db, root).downgrade(1)
    assert versions(db) == [1, 2, 3]


def test_two_migrators_at_once_apply_each_version_once(tmp_path: Path, root: Path) -> None:
    write(root, "003_slow.py", '''
        import time

        def upgrade(ctx):
            ctx.execute("CREATE TABLE c (id INTEGER)")
            time.sleep(0.3)
    ''')
    db = tmp_path / "demo.db"
    script = (
        "from pathlib import Path;"
        "from aragora_storage_core.migrations.engine import Migrator;"
        "from aragora_storage_core.sqlite.database import SQLiteDatabase;"
        f"s = Migrator(SQLiteDatabase({str(db)!r}), 'demo', 'x', Path({str(root)!r})).migrate();"
        "print(','.join(s.ran))"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    ran = [name for out, _ in outputs for name in out.strip().split(",") if name]
    assert sorted(ran) == ["001_first", "002_second", "003_slow"]
    assert versions(db) == [1, 2, 3]


def test_duplicate_versions_are_rejected(tmp_path: Path, root: Path) -> None:
    write(root, "002_again.sql", "SELECT 1;")
    with pytest.raises(MigrationError, match="version 002"):
        migrator(tmp_path / "demo.db", root)


def test_migrate_reports_the_version_it_reached(tmp_path: Path, root: Path) -> None:
    status = migrator(tmp_path / "demo.db", root).migrate()
    assert status.version == 2
    assert status.pending == []


def test_created_migration_compiles_whatever_the_description_holds(tmp_path: Path) -> None:
    from aragora_storage_core.migrations.files import create

    path = create("demo", 'Fix """quotes""" and \\ backslashes\nnewline', tmp_path)
    compile(path.read_text(), str(path), "exec")
    assert 'Fix """quotes"""' not in path.read_text()
