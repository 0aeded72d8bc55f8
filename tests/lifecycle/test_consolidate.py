"""Consolidation of legacy SQLite files: dry run, migrate, verify, kills, and bad input."""

from __future__ import annotations

import hashlib
import io
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from aragora_storage_core.backup.catalog import list_backups
from aragora_storage_core.backup.verify import verify_backup
from aragora_storage_core.consolidate import build
from aragora_storage_core.consolidate.checksum import compare
from aragora_storage_core.consolidate.plan import make_plan
from aragora_storage_core.consolidate.run import consolidate
from aragora_storage_core.errors import ConsolidationError
from aragora_storage_core.layout import ConsolidatedDatabase, DatabaseType
from aragora_storage_core.models import User
from aragora_storage_core.progress import Progress
from aragora_storage_core.registry import Registry
from aragora_storage_core.settings import Settings
from aragora_storage_core.stores.protocols import StoreKind
from tests.lifecycle.conftest import leave_hot_journal
from tests.lifecycle.legacy_data import fill, make_legacy

HOMES = [h.filename for h in ConsolidatedDatabase]


def snapshot(directory: Path) -> dict[str, str]:
    """Name -> SHA-256 of every file directly in ``directory``."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.iterdir()) if p.is_file()}


def rows(path: Path, table: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
    finally:
        conn.close()


@pytest.fixture
def legacy(tmp_path: Path) -> Path:
    """A ``.nomic`` directory with every legacy file, 3 rows in every table."""
    source = tmp_path / ".nomic"
    make_legacy(source, rows_per_table=3)
    return source


def test_dry_run_lists_every_table_with_rows_and_destination_and_writes_nothing(
        legacy: Path, cli: Any) -> None:
    before = snapshot(legacy)
    result = cli("consolidate", "--dry-run", "--source", str(legacy))
    assert result.code == 0, result.err
    assert "  users.db                 users                             3 rows -> core.db" \
        in result.out
    assert "  continuum.db             memories                          3 rows ->" \
        " memory.db continuum_memory" in result.out
    assert result.out.count(" rows -> ") == 71
    assert "would copy 213 rows from 25 legacy files; nothing was written" in result.out
    assert snapshot(legacy) == before
    assert sorted(p.name for p in legacy.iterdir()) == sorted(before)


def test_migrate_backs_up_builds_four_files_and_leaves_legacy_files_untouched(
        legacy: Path, cli: Any) -> None:
    before = snapshot(legacy)
    result = cli("consolidate", "--migrate", "--source", str(legacy))
    assert result.code == 0, result.err
    for name, digest in before.items():
        assert hashlib.sha256((legacy / name).read_bytes()).hexdigest() == digest
    for home in HOMES:
        assert (legacy / home).is_file()
    assert rows(legacy / "core.db", "users") == rows(legacy / "users.db", "users")
    assert rows(legacy / "agents.db", "agent_relationships") == \
        rows(legacy / "agent_relationships.db", "relationships")
    (backup,) = list_backups(legacy / "backup")
    assert sorted(f.name for f in verify_backup(backup.path).files) == sorted(before)
    assert not any(p.name.startswith(".") and p.name.endswith(".consolidating")
                   for p in legacy.iterdir())
    assert cli("consolidate", "--verify", "--source", str(legacy)).code == 0


def test_the_backup_before_migrate_includes_rows_still_in_a_wal(legacy: Path) -> None:
    writer = sqlite3.connect(legacy / "users.db", isolation_level=None)
    writer.execute("PRAGMA journal_mode = WAL")
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    writer.execute("INSERT INTO audit_log (timestamp, action) VALUES ('t', 'only-in-wal')")
    try:
        outcome = consolidate(legacy)
    finally:
        writer.close()
    assert outcome.backup is not None
    assert ("only-in-wal",) in [r[-1:] for r in
                                sqlite3.connect(outcome.backup / "users.db").execute(
                                    "SELECT action FROM audit_log")]
    actions = [r[0] for r in sqlite3.connect(legacy / "core.db").execute(
        "SELECT action FROM audit_log")]
    assert "only-in-wal" in actions


def test_a_source_path_with_url_characters_is_backed_up_from_that_very_path(
        tmp_path: Path) -> None:
    source = tmp_path / "data 100%?x=1#2" / ".nomic"
    make_legacy(source, rows_per_table=2)
    outcome = consolidate(source)
    assert outcome.backup is not None and outcome.backup.parent == source / "backup"
    assert len(verify_backup(outcome.backup).files) == 25


def test_verify_reports_a_table_whose_copy_differs(legacy: Path, cli: Any) -> None:
    consolidate(legacy, backup=False)
    conn = sqlite3.connect(legacy / "analytics.db")
    conn.execute("UPDATE ratings SET elo = 1 WHERE rowid = 1")
    conn.commit()
    conn.close()
    result = cli("consolidate", "--verify", "--source", str(legacy))
    assert result.code == 1
    assert [line.split()[1] for line in result.out.splitlines() if "MISMATCH" in line] == \
        ["ratings"]
    assert "1 of 71 tables differ" in result.out


def test_separate_target_and_attach_batches_smaller_than_the_files_give_the_same_result(
        legacy: Path, tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    consolidate(legacy, one, backup=False)
    consolidate(legacy, two, backup=False, attach_limit=2)  # core.db has 5 legacy files
    plan = make_plan(legacy)
    assert all(c.ok for c in compare(plan, one))
    assert [c.target_digest for c in compare(plan, one)] == \
        [c.target_digest for c in compare(plan, two)]


def test_missing_files_tables_and_unknown_tables_are_reported(
        tmp_path: Path, cli: Any) -> None:
    source = tmp_path / "src"
    make_legacy(source, skip=[DatabaseType.GENESIS])
    conn = sqlite3.connect(source / "agent_elo.db")
    conn.execute("DROP TABLE matches")
    conn.execute("CREATE TABLE scratch (x)")
    conn.commit()
    conn.close()
    with sqlite3.connect(source / "billing.db") as conn:  # a known file, no known table
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL NOT NULL)")
        conn.execute("INSERT INTO invoices VALUES (7, 1.5)")
    result = cli("consolidate", "--migrate", "--no-backup", "--source", str(source))
    assert result.code == 0, result.err
    assert "warning: missing legacy file genesis.db (Genesis ledger / genomes)" in result.out
    assert "warning: agent_elo.db has no table matches: it starts empty" in result.out
    assert "warning: agent_elo.db has a table scratch that is not in the mapping table:" \
        " carried as it is" in result.out
    assert rows(source / "analytics.db", "scratch") == []  # created as it was, empty
    assert rows(source / "analytics.db", "invoices") == [(7, 1.5)]
    assert rows(source / "agents.db", "genomes") == []
    assert len(rows(source / "agents.db", "personas")) == 3


def test_older_legacy_schema_copies_the_columns_it_has(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    conn = sqlite3.connect(source / "users.db")
    conn.execute("CREATE TABLE users (id TEXT PRIMARY KEY, email TEXT, password_hash TEXT,"
                 " password_salt TEXT, legacy_flag INTEGER)")
    conn.execute("INSERT INTO users VALUES ('u1', 'a@b', 'h', 's', 1)")
    conn.commit()
    conn.close()
    plan = make_plan(source)
    assert "users.db: column users.legacy_flag is not in the consolidated schema: users in" \
        " core.db gains it" in plan.warnings()
    consolidate(source, backup=False)
    copied = sqlite3.connect(source / "core.db").execute(
        "SELECT id, email, failed_login_count, legacy_flag FROM users").fetchall()
    assert copied == [("u1", "a@b", 0, 1)]  # the target's default; the extra column kept


def test_missing_source_directory_is_one_clear_line(tmp_path: Path, cli: Any) -> None:
    result = cli("consolidate", "--dry-run", "--source", str(tmp_path / "nope"))
    assert result.code == 1
    assert result.err.splitlines() == [
        f"error: source directory {tmp_path / 'nope'} does not exist",
        "hint: pass --source DIR with your legacy .db files (default .nomic)"]
    assert not (tmp_path / "nope").exists()


def test_source_without_legacy_files_is_refused(tmp_path: Path, cli: Any) -> None:
    (tmp_path / "empty").mkdir()
    result = cli("consolidate", "--migrate", "--source", str(tmp_path / "empty"))
    assert result.code == 1
    assert result.err.startswith("error: no legacy database files in")
    assert list((tmp_path / "empty").iterdir()) == []


def test_unwritable_target_fails_before_anything_is_written(
        legacy: Path, tmp_path: Path, cli: Any) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    before = snapshot(legacy)
    result = cli("consolidate", "--migrate", "--source", str(legacy),
                 "--target", str(blocker / "out"))
    assert result.code == 1
    assert result.err.splitlines()[0] == \
        f"error: target directory {blocker / 'out'} is not writable"
    assert snapshot(legacy) == before
    assert not (legacy / "backup").exists()


def test_a_target_file_not_made_by_consolidation_is_never_overwritten(
        legacy: Path, cli: Any) -> None:
    (legacy / "memory.db").write_bytes(b"someone's data")
    result = cli("consolidate", "--migrate", "--source", str(legacy))
    assert result.code == 1
    assert "memory.db already exists and was not made by consolidation" in result.err
    assert (legacy / "memory.db").read_bytes() == b"someone's data"
    assert not (legacy / "core.db").exists()


def test_rerun_after_success_gives_the_same_result(legacy: Path) -> None:
    consolidate(legacy, backup=False)
    first = {h: rows(legacy / h, "schema_version") for h in HOMES}
    consolidate(legacy, backup=False)
    plan = make_plan(legacy)
    assert all(c.ok for c in compare(plan, legacy))
    assert {h: [r[:2] for r in rows(legacy / h, "schema_version")] for h in HOMES} == \
        {h: [r[:2] for r in v] for h, v in first.items()}


KILLABLE = """
import sys, time
from pathlib import Path
from aragora_storage_core.backup import sqlite as backup_sqlite
from aragora_storage_core.consolidate import build, ledger
from aragora_storage_core.consolidate.run import consolidate

stop_at = sys.argv[2]
real_record, real_create = ledger.record, build._create_schema
real_swap = backup_sqlite.swap_into_place

def pause(where):
    print(where, flush=True)
    time.sleep(600)

def record_then_pause(target, name, digest):
    '''Fault injection: stop right after a file is recorded, before it is moved in.'''
    real_record(target, name, digest)
    if stop_at == "after-record:" + name:
        pause(stop_at)

def schema_then_pause(staged, home, sources):
    '''Fault injection: stop while a file is half-built.'''
    real_create(staged, home, sources)
    if stop_at == "building:" + home.filename:
        pause(stop_at)

def swap_after_pause(staged, target, **options):
    '''Fault injection: stop once the target was checked unused, before the rename.'''
    if stop_at == "before-swap:" + target.name:
        pause(stop_at)
    real_swap(staged, target, **options)

ledger.record = record_then_pause
build._create_schema = schema_then_pause
backup_sqlite.swap_into_place = swap_after_pause
consolidate(Path(sys.argv[1]))
"""


@pytest.mark.parametrize("stop_at", ["building:core.db", "after-record:memory.db",
                                     "building:agents.db"])
def test_consolidation_killed_at_any_point_reruns_to_the_same_result(
        legacy: Path, tmp_path: Path, stop_at: str) -> None:
    reference = tmp_path / "reference"
    consolidate(legacy, reference, backup=False)
    before = snapshot(legacy)
    process = subprocess.Popen([sys.executable, "-c", KILLABLE, str(legacy), stop_at],
                               stdout=subprocess.PIPE, text=True, cwd=Path.cwd())
    assert process.stdout is not None
    assert process.stdout.readline() == stop_at + "\n"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    for name, digest in before.items():
        assert hashlib.sha256((legacy / name).read_bytes()).hexdigest() == digest
    consolidate(legacy, backup=False)
    plan = make_plan(legacy)
    assert all(c.ok for c in compare(plan, legacy))
    assert [c.target_digest for c in compare(plan, legacy)] == \
        [c.target_digest for c in compare(plan, reference)]
    assert not any(p.name.endswith(".consolidating") for p in legacy.iterdir())


def test_a_rerun_killed_just_before_a_file_is_swapped_in_reruns_to_the_same_result(
        legacy: Path) -> None:
    consolidate(legacy, backup=False)
    process = subprocess.Popen([sys.executable, "-c", KILLABLE, str(legacy),
                                "before-swap:core.db"],
                               stdout=subprocess.PIPE, text=True, cwd=Path.cwd())
    assert process.stdout is not None
    assert process.stdout.readline() == "before-swap:core.db\n"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    consolidate(legacy, backup=False)
    assert all(c.ok for c in compare(make_plan(legacy), legacy))
    assert not any(p.name.endswith(".consolidating") for p in legacy.iterdir())


def test_a_second_consolidation_into_the_same_target_is_refused_while_one_runs(
        legacy: Path) -> None:
    process = subprocess.Popen([sys.executable, "-c", KILLABLE, str(legacy),
                                "building:core.db"],
                               stdout=subprocess.PIPE, text=True, cwd=Path.cwd())
    assert process.stdout is not None
    assert process.stdout.readline() == "building:core.db\n"
    try:
        staged = build.staging_path(legacy, ConsolidatedDatabase.CORE)
        half_built = staged.stat().st_ino
        with pytest.raises(ConsolidationError, match="another consolidation is running"):
            consolidate(legacy, backup=False)
        assert staged.stat().st_ino == half_built  # the first run's file was left alone
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    consolidate(legacy, backup=False)  # the lock died with the process
    assert all(c.ok for c in compare(make_plan(legacy), legacy))


def test_a_target_written_by_the_application_during_a_rerun_is_not_replaced(
        legacy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    consolidate(legacy, backup=False)
    real_create = build._create_schema

    def application_writes_meanwhile(staged: Path, home: ConsolidatedDatabase,
                                     sources: Any) -> None:
        real_create(staged, home, sources)
        if home is ConsolidatedDatabase.CORE:
            registry = Registry(Settings.from_env({"ARAGORA_DATA_DIR": str(legacy),
                                                   "ARAGORA_DB_MODE": "consolidated"}))
            registry.store(StoreKind.USERS).create(User(
                id="written-meanwhile", email="m@example.com", password_hash="h",
                password_salt="s"))
            registry.close()

    monkeypatch.setattr(build, "_create_schema", application_writes_meanwhile)
    with pytest.raises(ConsolidationError, match=r"core\.db already exists and was not made"):
        consolidate(legacy, backup=False)
    assert ("written-meanwhile",) in sqlite3.connect(legacy / "core.db").execute(
        "SELECT id FROM users").fetchall()
    assert not any(p.name.endswith(".consolidating") for p in legacy.iterdir())


def test_encrypted_legacy_files_are_refused_naming_the_copy_command_that_reads_them(
        tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "encrypted"
    for name, value in (("ARAGORA_DATA_DIR", str(source)), ("ARAGORA_SQLITE_ENCRYPTION", "1"),
                        ("ARAGORA_SQLITE_KEY", "a passphrase for this test")):
        monkeypatch.setenv(name, value)
    registry = Registry()
    registry.store(StoreKind.USERS).create(User(id="u1", email="e@example.com",
                                                password_hash="h", password_salt="s"))
    registry.close()
    before = snapshot(source)
    for action in ("--dry-run", "--migrate", "--verify"):
        result = cli("consolidate", action, "--source", str(source))
        assert result.code == 1
        assert result.err.splitlines() == [
            f"error: {source / 'users.db'} is encrypted (or not a SQLite file):"
            " consolidate reads plain SQLite files only",
            f"hint: for SQLCipher files run: aragora-storage copy --from"
            f" 'sqlite:///{source.absolute()}?mode=legacy' --to"
            f" 'sqlite:///{source.absolute()}?mode=consolidated'"]
    assert snapshot(source) == before


def test_a_legacy_file_left_with_a_hot_journal_is_named_and_left_as_it_is(
        legacy: Path, cli: Any) -> None:
    fill(legacy / "users.db", "users", 40, start=100)
    leave_hot_journal(legacy / "users.db")
    before = snapshot(legacy)
    for action in ("--dry-run", "--migrate"):
        result = cli("consolidate", action, "--source", str(legacy))
        assert result.code == 1
        assert result.err.splitlines()[0] == (
            f"error: {legacy / 'users.db'} has an unfinished transaction: users.db-journal"
            " was left by a process that stopped")
    assert snapshot(legacy) == before
    assert not (legacy / "backup").exists()


def test_seed_module_entry_takes_the_same_flags(legacy: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "aragora_storage_core.migrations.consolidate", "--dry-run",
         "--source", str(legacy)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "would copy 213 rows from 25 legacy files" in result.stdout
    missing = subprocess.run(
        [sys.executable, "-m", "aragora_storage_core.migrations.consolidate", "--verify",
         "--source", str(legacy / "nope")], capture_output=True, text=True, check=False)
    assert missing.returncode == 1
    assert missing.stderr.startswith("error: source directory")


INTERRUPTED_SEED_ENTRY = """
import sys, time
from aragora_storage_core.consolidate import build
from aragora_storage_core.migrations.consolidate import main

real_create = build._create_schema

def schema_then_pause(staged, home, sources):
    '''Fault injection: wait for Ctrl-C while core.db is half-built.'''
    real_create(staged, home, sources)
    print("building", flush=True)
    time.sleep(600)

build._create_schema = schema_then_pause
sys.exit(main(["--migrate", "--no-backup", "--source", sys.argv[1]]))
"""


def test_ctrl_c_in_the_seed_entry_is_one_line_and_keeps_nothing_partial(legacy: Path) -> None:
    process = subprocess.Popen([sys.executable, "-c", INTERRUPTED_SEED_ENTRY, str(legacy)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.readline() == "building\n"
    process.send_signal(signal.SIGINT)
    _, err = process.communicate()
    assert process.returncode == 130
    assert err == "interrupted; nothing partial was kept\n"
    assert not any(p.name.endswith(".consolidating") for p in legacy.iterdir())


def test_consolidation_error_names_the_failing_table(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    conn = sqlite3.connect(source / "users.db")
    conn.execute("CREATE TABLE users (id TEXT PRIMARY KEY, email TEXT)")  # no password_hash
    conn.execute("INSERT INTO users VALUES ('u1', 'a@b')")
    conn.commit()
    conn.close()
    with pytest.raises(ConsolidationError) as error:
        consolidate(source, backup=False)
    assert error.value.message == ("users.db table users: row rowid 1 has no value in column"
                                   " password_hash, which users requires (NOT NULL, no"
                                   " default)")
    assert error.value.hint.startswith(f"fix or delete that row in {source / 'users.db'}")
    assert not (source / "core.db").exists()
    assert [p.name for p in source.iterdir() if p.name.endswith(".consolidating")] == []


def test_more_rows_than_one_batch_verify_with_checksums(tmp_path: Path) -> None:
    source = tmp_path / "src"
    make_legacy(source, rows_per_table=1)
    fill(source / "nomic.db", "stream_events", 5000, start=10)
    consolidate(source, backup=False, attach_limit=1)
    checks = {c.table: c for c in compare(make_plan(source), source)}
    assert checks["stream_events"].target_rows == 5001 and checks["stream_events"].ok


class TerminalStream(io.StringIO):
    """A stream that says it is a terminal, to see the progress line."""

    def isatty(self) -> bool:
        return True


def test_progress_shows_on_a_terminal_and_nothing_when_piped(legacy: Path, cli: Any) -> None:
    terminal = TerminalStream()
    consolidate(legacy, backup=False, stream=terminal)
    assert "consolidate: 213/213 (100%)" in terminal.getvalue()
    piped = cli("consolidate", "--migrate", "--no-backup", "--source", str(legacy))
    assert piped.code == 0 and piped.err == ""


def screen_line(written: str) -> str:
    """What a terminal shows after ``written`` redraws one line with carriage returns."""
    line: list[str] = []
    column = 0
    for char in written.rstrip("\n"):
        if char == "\r":
            column = 0
            continue
        line[column:column + 1] = [char]
        column += 1
    return "".join(line).rstrip()


def test_a_shorter_progress_note_leaves_nothing_of_a_longer_one_on_screen() -> None:
    terminal = TerminalStream()
    progress = Progress("consolidate", total=2, stream=terminal)
    progress.advance(1, note="agent_calibration.db:calibration_predictions")
    progress.advance(1, note="users.db:users")
    progress.close()
    assert screen_line(terminal.getvalue()) == "consolidate: 2/2 (100%) users.db:users"


def test_dry_run_warns_when_migrate_would_stop_on_a_foreign_target_file(
        legacy: Path, cli: Any) -> None:
    (legacy / "agents.db").write_bytes(b"not ours")
    result = cli("consolidate", "--dry-run", "--source", str(legacy))
    assert result.code == 0
    assert (f"warning: --migrate would stop: {legacy / 'agents.db'} already exists and was"
            " not made by consolidation") in result.out


def test_verify_before_migrate_says_to_migrate_first(legacy: Path, cli: Any) -> None:
    result = cli("consolidate", "--verify", "--source", str(legacy))
    assert result.code == 1
    assert result.err.splitlines() == [f"error: {legacy / 'core.db'} does not exist",
                                       "hint: run consolidation first: --migrate"]


def test_unknown_db_files_are_named_by_dry_run_migrate_and_verify_and_left_in_place(
        legacy: Path, cli: Any) -> None:
    stranger = legacy / "my_plugin_cache.db"
    with sqlite3.connect(stranger) as conn:
        conn.execute("CREATE TABLE x (y)")
    digest = hashlib.sha256(stranger.read_bytes()).hexdigest()
    line = f"warning: {stranger} is not a file of the layout: left where it is, not copied"
    for action in ("--dry-run", "--migrate", "--verify"):
        result = cli("consolidate", action, "--no-backup" if action == "--migrate" else
                     "--source", *(("--source",) if action == "--migrate" else ()),
                     str(legacy))
        assert result.code == 0, result.err
        assert line in result.out, action
    assert hashlib.sha256(stranger.read_bytes()).hexdigest() == digest


def test_every_value_of_every_table_arrives_in_its_home_row_by_row(legacy: Path) -> None:
    from aragora_storage_core.layout import DATABASES, Naming

    consolidate(legacy, backup=False)
    compared = nulls = 0
    for info in DATABASES:
        for table in info.tables:
            source = legacy / info.legacy_file
            if not source.exists():
                continue
            with sqlite3.connect(source) as src, \
                    sqlite3.connect(legacy / info.home.filename) as dest:
                names = [r[1] for r in src.execute(
                    f"PRAGMA table_info({table.named(Naming.LEGACY)})")]
                cols = ", ".join(names)
                before = src.execute(f"SELECT {cols} FROM {table.named(Naming.LEGACY)}"
                                     " ORDER BY rowid").fetchall()
                after = dest.execute(f"SELECT {cols} FROM {table.name} ORDER BY rowid"
                                     ).fetchall()
            assert sorted(after, key=repr) == sorted(before, key=repr), table
            compared += len(before)
            nulls += sum(row.count(None) for row in before)
    assert compared == 213 and nulls > 100  # NULLs where allowed arrived as NULLs


def test_a_repeated_key_in_a_legacy_table_stops_the_run_naming_the_row(legacy: Path) -> None:
    with sqlite3.connect(legacy / "agent_elo.db") as conn:  # the application's: no key
        conn.execute("INSERT INTO ratings (agent_name, elo) SELECT agent_name, 1.0"
                     " FROM ratings WHERE rowid = 2")
    with pytest.raises(ConsolidationError) as error:
        consolidate(legacy, backup=False)
    assert error.value.message == ("agent_elo.db table ratings: row rowid 4 repeats the key"
                                   " (agent_name) of another row already in ratings")
    assert not (legacy / "analytics.db").exists()


def test_a_refused_row_in_a_later_home_moves_no_consolidated_file_into_place(
        legacy: Path) -> None:
    """All or nothing: core.db and memory.db build fine, analytics.db's rows are refused."""
    before = snapshot(legacy)
    with sqlite3.connect(legacy / "agent_elo.db") as conn:
        conn.execute("INSERT INTO ratings (agent_name, elo) SELECT agent_name, 1.0"
                     " FROM ratings WHERE rowid = 2")
    with pytest.raises(ConsolidationError) as error:
        consolidate(legacy, backup=False)
    assert error.value.hint.endswith("nothing was moved into place")
    assert [name for name in HOMES if (legacy / name).exists()] == []
    assert not any(p.name.endswith(".consolidating") for p in legacy.iterdir())
    assert set(snapshot(legacy)) - set(before) <= {".consolidation.lock"}


def test_a_table_the_mapping_does_not_know_never_overwrites_a_mapped_one(
        legacy: Path) -> None:
    with sqlite3.connect(legacy / "agent_elo.db") as conn:
        conn.execute("CREATE TABLE insights (x)")
    with pytest.raises(ConsolidationError) as error:
        make_plan(legacy)
    assert error.value.message == ("agent_elo.db has a table insights that is not in the"
                                   " mapping, and analytics.db gets a table insights from"
                                   " aragora_insights.db")
