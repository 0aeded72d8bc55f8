"""A deployment made by the application (the seed's DDL, no version records) is adopted,
then migrated; applications keep their own migrations; the seed runner's flags work."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from aragora_storage_core.cli import main
from aragora_storage_core.registry import Registry
from aragora_storage_core.settings import Settings
from tests.layout_facts import FACTS_FILE

SEED = (FACTS_FILE.parent / "SEED-DATABASE.md").read_text(encoding="utf-8")
#: The seed's account DDL exactly as SEED-DATABASE.md writes it.
SEED_DDL = "\n".join(re.findall(
    r"```sql\n(CREATE TABLE (?:users|organizations|audit_log|usage_events) .*?)```", SEED,
    re.S))
LOCKOUT = ("locked_until", "failed_login_count", "lockout_reason", "last_activity_at",
           "last_debate_at")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def seed_deployment(directory: Path, lockout: bool = True) -> Path:
    """``users.db`` made by the seed's DDL with one user, and no bookkeeping at all."""
    directory.mkdir(parents=True, exist_ok=True)
    ddl = SEED_DDL if lockout else re.sub(r",(\s*(?:--[^\n]*\s*)*)\);", r"\1);", "\n".join(
        line for line in SEED_DDL.splitlines() if line.strip().split(" ")[0] not in LOCKOUT))
    path = directory / "users.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(ddl)
        conn.execute("INSERT INTO users (id, email, password_hash, password_salt)"
                     " VALUES ('u1', 'ada@example.com', 'h', 's')")
    return path


def versions(path: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT database, version FROM schema_version ORDER BY 2").fetchall()


def columns(path: Path, table: str) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}


def test_seed_ddl_is_the_seeds() -> None:
    assert SEED_DDL.count("CREATE TABLE") == 4 and "locked_until TEXT" in SEED_DDL


@pytest.mark.parametrize("lockout", [True, False])
def test_a_seed_deployment_is_adopted_on_first_use_and_only_the_missing_is_applied(
        clean_environment: Path, lockout: bool) -> None:
    path = seed_deployment(clean_environment / ".nomic", lockout=lockout)
    registry = Registry(Settings.from_env({"ARAGORA_DATA_DIR": str(path.parent)}))
    user = registry.store("users").get_by_email("ada@example.com")
    registry.close()
    assert user is not None and user.id == "u1" and user.failed_login_count == 0
    assert versions(path) == [("users", 1), ("users", 2), ("users", 3)]
    assert set(LOCKOUT) <= columns(path, "users")
    assert "share_links" in {r[0] for r in sqlite3.connect(path).execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_a_deployment_with_only_some_lockout_columns_gets_only_the_missing_ones(
        clean_environment: Path) -> None:
    """The seed's own example migration adds ``locked_until`` alone (or safe_add_column ran)."""
    path = seed_deployment(clean_environment / ".nomic", lockout=False)
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE users ADD COLUMN locked_until TEXT")
        conn.execute("UPDATE users SET locked_until = '2030-01-01T00:00:00+00:00'")
    registry = Registry(Settings.from_env({"ARAGORA_DATA_DIR": str(path.parent)}))
    user = registry.store("users").get_by_email("ada@example.com")
    registry.close()
    assert user is not None and user.failed_login_count == 0
    assert versions(path) == [("users", 1), ("users", 2), ("users", 3)]
    assert set(LOCKOUT) <= columns(path, "users")
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT locked_until FROM users").fetchall() == \
            [("2030-01-01T00:00:00+00:00",)]


def test_baseline_records_what_matches_and_changes_no_table(
        capsys: pytest.CaptureFixture[str], clean_environment: Path) -> None:
    path = seed_deployment(clean_environment / ".nomic", lockout=False)
    code, out, _ = run(capsys, "doctor")
    assert "storage.W121" in out and "aragora-storage migrate --baseline --db users" in out
    before = columns(path, "users")
    code, out, err = run(capsys, "migrate", "--baseline", "--db", "users")
    assert code == 0, err
    assert "adopted: =001_initial" in out and "pending: 002_add_lockout" in out
    assert versions(path) == [("users", 1)] and columns(path, "users") == before
    code, out, _ = run(capsys, "migrate", "--migrate", "--db", "users")
    assert code == 0 and "applied: 002_add_lockout, 003_links_webhooks_monthly_usage" in out
    assert set(LOCKOUT) <= columns(path, "users")


def test_tables_that_match_no_migration_are_named_never_table_already_exists(
        capsys: pytest.CaptureFixture[str], clean_environment: Path) -> None:
    data = clean_environment / ".nomic"
    data.mkdir()
    with sqlite3.connect(data / "users.db") as conn:
        conn.execute("CREATE TABLE users (id TEXT PRIMARY KEY, email TEXT)")
    code, out, err = run(capsys, "migrate", "--migrate", "--db", "users", "--no-backup")
    assert code != 0 and out == ""
    assert "already holds users of users without version records" in err
    assert "already exists" not in err and "--baseline --db users" in err
    assert columns(data / "users.db", "users") == {"id", "email"}


SEED_FORM = '''"""
Migration 004: Add nickname

Created: 2024-01-03T12:00:00
"""

import sqlite3

def upgrade(conn: sqlite3.Connection) -> None:
    """Apply this migration."""
    conn.execute("""
        ALTER TABLE users ADD COLUMN nickname TEXT
    """)
    conn.executescript("""
        CREATE TABLE nicknames (nickname TEXT PRIMARY KEY);
        INSERT INTO nicknames VALUES ('ada');
    """)

def downgrade(conn: sqlite3.Connection) -> None:
    """Reverse this migration (optional)."""
    conn.executescript("DROP TABLE nicknames; ALTER TABLE users DROP COLUMN nickname;")
'''


def test_application_migrations_in_the_seeds_form_run_from_the_search_path(
        capsys: pytest.CaptureFixture[str], clean_environment: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    own = clean_environment / "migrations"
    (own / "users").mkdir(parents=True)
    (own / "users" / "004_add_nickname.py").write_text(SEED_FORM, encoding="utf-8")
    monkeypatch.setenv("ARAGORA_MIGRATIONS_PATH", str(own))
    code, out, err = run(capsys, "migrate", "--migrate", "--db", "users")
    assert code == 0, err
    assert "004_add_nickname" in out
    path = clean_environment / ".nomic" / "users.db"
    assert "nickname" in columns(path, "users")
    assert sqlite3.connect(path).execute("SELECT * FROM nicknames").fetchall() == [("ada",)]
    code, out, _ = run(capsys, "migrate", "--rollback", "--db", "users", "--no-backup")
    assert code == 0 and "reversed: -004_add_nickname" in out
    assert "nickname" not in columns(path, "users")
    code, out, _ = run(capsys, "migrate", "--create", "Add x", "--db", "users")
    assert code == 0 and str(own / "users" / "005_add_x.py") in out


def test_create_refuses_without_an_application_folder_and_never_writes_the_package(
        capsys: pytest.CaptureFixture[str], clean_environment: Path) -> None:
    import aragora_storage_core.migrations as package

    before = sorted(p.name for p in Path(package.__file__).parent.joinpath("users").iterdir())
    code, out, err = run(capsys, "migrate", "--create", "Add x", "--db", "users")
    assert code == 1 and out == ""
    assert "no application migrations folder is configured" in err
    assert "export ARAGORA_MIGRATIONS_PATH=" in err
    code, _, err = run(capsys, "migrate", "--create", "Add x", "--db", "users", "--dir", "d")
    assert code == 1 and "no application migrations folder" in err
    assert sorted(p.name for p in
                  Path(package.__file__).parent.joinpath("users").iterdir()) == before


def test_seed_runner_flags_rollback_to_nomic_dir_backup_and_verbose(
        capsys: pytest.CaptureFixture[str], clean_environment: Path) -> None:
    data = clean_environment / "elsewhere"
    seed_deployment(data, lockout=False)
    code, out, err = run(capsys, "migrate", "--migrate", "--db", "users", "--nomic-dir",
                         str(data), "-v")
    assert code == 0, err
    assert f"backup before migrating: {data / 'backups'}" in out
    assert "    001_initial" in out and "    003_links_webhooks_monthly_usage" in out
    backups = list((data / "backups").iterdir())
    assert len(backups) == 1
    assert "locked_until" not in {r[1] for r in sqlite3.connect(
        backups[0] / "users.db").execute("PRAGMA table_info(users)")}
    code, out, _ = run(capsys, "migrate", "--rollback-to", "1", "--db", "users",
                       "--nomic-dir", str(data), "--no-backup")
    assert code == 0 and "-003_links_webhooks_monthly_usage, -002_add_lockout" in out
    assert len(list((data / "backups").iterdir())) == 1
    assert versions(data / "users.db") == [("users", 1)]
    assert not (clean_environment / ".nomic").exists()
