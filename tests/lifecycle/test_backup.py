"""Backups of the SQLite backend: create, list, verify, restore, prune, and every failure."""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from aragora_storage_core.backend import Backend
from aragora_storage_core.backup.catalog import list_backups
from aragora_storage_core.backup.create import create_backup
from aragora_storage_core.backup.retention import plan_prune
from aragora_storage_core.backup.verify import verify_backup
from aragora_storage_core.cli import main
from aragora_storage_core.errors import BackupError, CorruptBackupError
from aragora_storage_core.models import NomicCycle
from aragora_storage_core.registry import Registry
from aragora_storage_core.stores.protocols import StoreKind
from tests.lifecycle.conftest import add_accounts, leave_hot_journal, user_ids
from tests.lifecycle.legacy_data import make_legacy


def make_backup(backend: Backend) -> Path:
    registry = Registry()
    registry.host.load_backend("sqlite")
    directory, _ = create_backup(registry.hook, backend)
    return directory


def only_backup(data_dir: Path) -> Path:
    (entry,) = list_backups(data_dir / "backups")
    return entry.path


def test_backup_create_writes_manifest_with_sizes_digests_and_private_modes(
        backend: Backend, data_dir: Path, cli: Any) -> None:
    result = cli("backup", "create")
    assert result.code == 0, result.err
    directory = only_backup(data_dir)
    manifest = json.loads((directory / "manifest.json").read_text())
    assert manifest["backend"] == "sqlite"
    assert manifest["schema_versions"]["users"] == 3
    (entry,) = manifest["files"]
    assert entry["name"] == "users.db"
    assert entry["size"] == (directory / "users.db").stat().st_size
    assert len(entry["sha256"]) == 64
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE((directory / "users.db").stat().st_mode) == 0o600
    assert stat.S_IMODE((directory / "manifest.json").stat().st_mode) == 0o600
    assert not any(p.name.endswith(("-wal", "-shm")) for p in directory.iterdir())


def test_backup_contains_rows_still_only_in_the_wal(data_dir: Path) -> None:
    registry = Registry()
    backend = registry.active()
    add_accounts(backend, users=1)
    live = data_dir / "users.db"
    writer = sqlite3.connect(live, isolation_level=None)
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    writer.execute("INSERT INTO users (id, email, password_hash, password_salt)"
                   " VALUES ('in-wal', 'w@example.com', 'h', 's')")
    assert (data_dir / "users.db-wal").stat().st_size > 0
    directory = make_backup(backend)
    writer.close()
    copy = sqlite3.connect(directory / "users.db")
    ids = [r[0] for r in copy.execute("SELECT id FROM users")]
    copy.close()
    assert "in-wal" in ids
    registry.close()


def test_backup_taken_while_another_process_writes_is_consistent(
        backend: Backend, data_dir: Path) -> None:
    writer = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sqlite3, sys
        conn = sqlite3.connect({str(data_dir / 'users.db')!r}, isolation_level=None,
                               timeout=30)
        print("ready", flush=True)
        n = 0
        while True:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO audit_log (timestamp, action) VALUES ('t', ?)",
                         (f"w{{n}}",))
            conn.execute("COMMIT")
            n += 1
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None and writer.stdout.readline() == "ready\n"
        directory = make_backup(backend)
    finally:
        writer.kill()
        writer.wait()
    manifest = verify_backup(directory)
    assert [f.name for f in manifest.files] == ["users.db"]


def test_restore_brings_back_the_data_and_leaves_no_stale_wal_or_shm(
        backend: Backend, data_dir: Path, cli: Any) -> None:
    before = user_ids(backend)
    directory = make_backup(backend)
    add_accounts(backend, users=2)
    assert (data_dir / "users.db-wal").exists()
    backend.close()  # the server stops before a restore
    result = cli("backup", "restore", directory.name, "--yes")
    assert result.code == 0, result.err
    assert "restored 1 files" in result.out
    assert not (data_dir / "users.db-wal").exists()
    assert not (data_dir / "users.db-shm").exists()
    assert user_ids(backend) == before
    assert stat.S_IMODE((data_dir / "users.db").stat().st_mode) == 0o600


def _corrupt(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def test_restore_refuses_a_corrupted_backup_and_leaves_live_data_untouched(
        backend: Backend, data_dir: Path, cli: Any) -> None:
    directory = make_backup(backend)
    add_accounts(backend, users=1)
    expected = user_ids(backend)
    _corrupt(directory / "users.db")
    result = cli("backup", "restore", directory.name, "--yes")
    assert result.code == 1
    assert result.err.splitlines()[0] == (
        f"error: backup file {directory / 'users.db'} does not match its SHA-256")
    assert result.err.splitlines()[1].startswith("hint: ")
    assert user_ids(backend) == expected


def test_verify_reports_a_truncated_manifest(backend: Backend, cli: Any) -> None:
    directory = make_backup(backend)
    manifest = directory / "manifest.json"
    manifest.write_text(manifest.read_text()[:40])
    result = cli("backup", "verify")
    assert result.code == 1
    assert "is not valid JSON (truncated?)" in result.out
    refused = cli("backup", "restore", directory.name, "--yes")
    assert refused.code == 1
    assert refused.err.splitlines()[0] == (
        f"error: the manifest of backup {directory} is not valid JSON (truncated?)")
    with pytest.raises(CorruptBackupError):
        verify_backup(directory)


def test_verify_runs_the_integrity_check_even_when_digests_match(
        backend: Backend, data_dir: Path) -> None:
    directory = make_backup(backend)
    target = directory / "users.db"
    conn = sqlite3.connect(target)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    data = bytearray(target.read_bytes())
    data[page_size * 2 + 8: page_size * 2 + 64] = b"\xee" * 56  # damage a b-tree page
    target.write_bytes(bytes(data))
    manifest_path = directory / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    from aragora_storage_core.backup.manifest import sha256_of
    manifest["files"][0]["sha256"] = sha256_of(target)
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(CorruptBackupError, match="integrity check"):
        verify_backup(directory)


PAUSE_PLUGIN = """
import os, sys, time
from aragora_storage_core import hookimpl
from aragora_storage_core.registry import Registry
from aragora_storage_core.backup.create import create_backup

class PauseAfterBackupHook:
    '''Fault injection: stop between the data files and the manifest.'''

    @hookimpl(wrapper=True)
    def storage_backup(self, backend, request):
        manifest = yield
        print("files-written", flush=True)
        time.sleep(600)
        return manifest

registry = Registry()
registry.host.load_backend("sqlite")
registry.host.pm.register(PauseAfterBackupHook())
create_backup(registry.hook, registry.active())
"""


def test_a_backup_killed_before_its_manifest_never_looks_valid(
        backend: Backend, data_dir: Path, cli: Any) -> None:
    good = make_backup(backend)
    process = subprocess.Popen([sys.executable, "-c", PAUSE_PLUGIN],
                               stdout=subprocess.PIPE, text=True, env=dict(os.environ),
                               cwd=Path.cwd())
    assert process.stdout is not None
    assert process.stdout.readline() == "files-written\n"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    partial = [e for e in list_backups(data_dir / "backups") if not e.complete]
    assert len(partial) == 1 and (partial[0].path / "users.db").exists()
    assert "INCOMPLETE" in cli("backup", "list").out
    refused = cli("backup", "restore", str(partial[0].path))
    assert refused.code == 1
    assert "incomplete: the backup was interrupted" in refused.err
    plan = plan_prune(data_dir / "backups", max_age_days=0)
    assert plan.protected is not None and plan.protected.path == good


def test_prune_removes_by_age_and_count_but_keeps_the_newest_verified(
        backend: Backend, data_dir: Path, cli: Any) -> None:
    directory = make_backup(backend)
    root = directory.parent
    import shutil
    for name in ("20200101_000000", "20200102_000000", "20200103_000000"):
        shutil.copytree(directory, root / name)
    newest_bad = root / "20991231_000000"
    shutil.copytree(directory, newest_bad)
    _corrupt(newest_bad / "users.db")
    result = cli("backup", "prune", "--keep", "1")
    assert result.code == 0, result.err
    left = sorted(p.name for p in root.iterdir())
    # the corrupt newest is within --keep 1; the real one is the newest *verified* one
    assert left == [directory.name, "20991231_000000"]
    assert f"newest verified: {directory.name}" in result.out


def test_prune_never_removes_the_only_verified_backup_even_when_old(
        backend: Backend, data_dir: Path) -> None:
    directory = make_backup(backend)
    old = directory.parent / "20200101_000000"
    directory.rename(old)
    plan = plan_prune(old.parent, max_age_days=7)
    assert plan.remove == [] and plan.protected is not None


@pytest.mark.parametrize("days", ["-1", "nan", "inf", "1e10"])
def test_prune_refuses_an_age_that_is_not_a_number_of_days_and_removes_nothing(
        backend: Backend, data_dir: Path, cli: Any, days: str) -> None:
    directory = make_backup(backend)
    (directory.parent / "20200101_000000").mkdir()  # old and incomplete: prune would take it
    before = sorted(p.name for p in directory.parent.iterdir())
    result = cli("backup", "prune", f"--days={days}")
    assert result.code == 2
    assert result.err.splitlines() == ["error: --days must be a number of days from 0 to 36500",
                                       "hint: e.g. --days 7"]
    assert sorted(p.name for p in directory.parent.iterdir()) == before


def test_restore_refuses_a_backup_made_for_another_layout(
        backend: Backend, data_dir: Path, tmp_path: Path, cli: Any) -> None:
    directory = make_backup(backend)
    result = cli("--url", f"sqlite:///{tmp_path / 'other'}?mode=consolidated",
                 "backup", "restore", str(directory), "--yes")
    assert result.code == 1
    assert "has no place in this consolidated layout" in result.err
    assert not (tmp_path / "other").exists()


def test_backup_of_an_empty_data_directory_is_a_clear_error(data_dir: Path, cli: Any) -> None:
    result = cli("backup", "create")
    assert result.code == 1
    assert result.err.startswith("error: there are no database files to back up")
    assert list_backups(data_dir / "backups") == []


def test_restore_of_a_missing_backup_names_it(backend: Backend, cli: Any) -> None:
    result = cli("backup", "restore", "20200101_000000")
    assert result.code == 1
    assert "does not exist" in result.err.splitlines()[0]


def test_backup_into_an_unwritable_directory_fails_cleanly(
        backend: Backend, tmp_path: Path, cli: Any) -> None:
    if os.geteuid() == 0:
        blocked = tmp_path / "file-not-dir"
        blocked.write_text("x")
        target = blocked / "backups"
    else:
        target = tmp_path / "ro"
        target.mkdir(mode=0o500)
    result = cli("backup", "create", "--dir", str(target))
    assert result.code != 0
    assert result.err.startswith("error: ")
    assert len(result.err.splitlines()) == 2


class NoBackupBackend(Backend):
    """A backend whose class has no backup of its own (the base method answers None)."""

    name = "nobackup"
    stores_served = frozenset({StoreKind.CACHE})

    def make_store(self, kind: StoreKind) -> Any:
        raise AssertionError("never asked for a store")


def test_create_backup_of_a_backend_without_backup_is_an_error(backend: Backend,
                                                               tmp_path: Path) -> None:
    registry = Registry()
    plain = NoBackupBackend(backend.url, backend.settings)
    with pytest.raises(BackupError, match="no installed plugin can back up"):
        create_backup(registry.hook, plain, tmp_path / "backups")
    assert not (tmp_path / "backups").exists() or not any((tmp_path / "backups").iterdir())


def test_restore_refuses_while_another_process_has_the_database_open(
        backend: Backend, data_dir: Path, cli: Any) -> None:
    directory = make_backup(backend)
    add_accounts(backend, users=1)
    expected = user_ids(backend)
    backend.close()
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sqlite3, time
        conn = sqlite3.connect({str(data_dir / 'users.db')!r})
        conn.execute("SELECT count(*) FROM users").fetchone()
        print("open", flush=True)
        time.sleep(600)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "open\n"
        refused = cli("backup", "restore", directory.name, "--yes")
    finally:
        holder.kill()
        holder.wait()
    assert refused.code == 1
    assert refused.err.splitlines() == [
        f"error: {data_dir / 'users.db'} is open in another process",
        "hint: stop every process using the data (the server), then restore"]
    assert user_ids(backend) == expected
    assert not list(data_dir.glob(".*.restoring"))
    backend.close()  # user_ids() opened it again
    assert cli("backup", "restore", directory.name, "--yes").code == 0


def test_a_manifest_from_a_newer_format_is_refused_with_an_upgrade_hint(
        backend: Backend, cli: Any) -> None:
    directory = make_backup(backend)
    manifest = json.loads((directory / "manifest.json").read_text())
    manifest["format"] = 99
    (directory / "manifest.json").write_text(json.dumps(manifest))
    result = cli("backup", "restore", directory.name, "--yes")
    assert result.code == 1
    assert "has manifest format 99" in result.err
    assert result.err.splitlines()[1] == "hint: upgrade aragora-storage to use this backup"


def test_restore_into_an_empty_directory_recreates_the_files_privately(
        backend: Backend, tmp_path: Path, cli: Any) -> None:
    directory = make_backup(backend)
    fresh = tmp_path / "recovered"
    result = cli("--url", f"sqlite:///{fresh}", "backup", "restore", str(directory), "--yes")
    assert result.code == 0, result.err
    assert len(result.out.splitlines()) == 1  # nothing was replaced, so nothing kept
    assert [e.name for e in list_backups(directory.parent)] == [directory.name]
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o700
    assert stat.S_IMODE((fresh / "users.db").stat().st_mode) == 0o600
    registry = Registry(env={})
    recovered = registry.connect(f"sqlite:///{fresh}")
    try:
        assert user_ids(recovered) == user_ids(backend)
    finally:
        recovered.close()


def test_backup_findings_report_missing_fresh_and_old_backups(
        backend: Backend, data_dir: Path) -> None:
    from aragora_storage_core.backup.health import backup_findings

    (missing,) = backup_findings(backend)
    assert (missing.id, missing.message) == (
        "storage.I065", f"no backups yet in {data_dir / 'backups'}")
    directory = make_backup(backend)
    (fresh,) = backup_findings(backend)
    assert fresh.id == "storage.I066" and directory.name in fresh.message
    later = datetime.now(UTC) + timedelta(days=3)
    (old,) = backup_findings(backend, now=later)
    assert old.id == "storage.W066"
    assert old.hint == "aragora-storage backup create (and schedule it)"



def test_a_file_left_with_a_hot_journal_is_named_with_how_to_roll_it_back(
        backend: Backend, data_dir: Path, cli: Any) -> None:
    backend.close()
    live = data_dir / "users.db"
    add_accounts(backend, users=40)
    backend.close()
    leave_hot_journal(live)
    result = cli("backup", "create")
    assert result.code == 1
    assert result.err.splitlines() == [
        f"error: {live} has an unfinished transaction: {live.name}-journal was left by a"
        " process that stopped",
        f"hint: let SQLite roll it back by opening it once read-write: python3 -c \"import"
        f" sqlite3; sqlite3.connect('{live}').execute('PRAGMA integrity_check')\"",
    ]
    subprocess.run(["python3", "-c", f"import sqlite3; sqlite3.connect('{live}')"
                    ".execute('PRAGMA integrity_check')"], check=True)
    assert cli("backup", "create").code == 0


KILLED_RESTORE = """
import os, signal, sys
import aragora_storage_sqlite.restore as plugin
from aragora_storage_core.cli import main

real_replace = plugin.replace_database

def replace_then_die(staged, target, *args, **kwargs):
    '''Fault injection: the process dies once the first file is swapped in.'''
    real_replace(staged, target, *args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)

plugin.replace_database = replace_then_die
main(["backup", "restore", sys.argv[1], "--yes"])
"""


def test_a_restore_killed_half_way_completes_when_run_again(
        backend: Backend, data_dir: Path, cli: Any) -> None:
    registry = Registry()
    registry.store(StoreKind.NOMIC_CYCLES).save_cycle(NomicCycle(
        loop_id="loop", cycle_number=1, phase="p", stage="s", started_at=datetime.now(UTC)))
    registry.close()
    directory = make_backup(backend)
    before = user_ids(backend)
    add_accounts(backend, users=2)
    backend.close()
    killed = subprocess.run([sys.executable, "-c", KILLED_RESTORE, str(directory)],
                            check=False, env=os.environ)
    assert killed.returncode == -signal.SIGKILL
    assert any(p.name.endswith(".restoring") for p in data_dir.iterdir())
    result = cli("backup", "restore", directory.name, "--yes")
    assert result.code == 0, result.err
    assert sorted(p.name for p in data_dir.iterdir() if p.is_file()) == ["nomic.db", "users.db"]
    assert user_ids(backend) == before


class TerminalStream(io.StringIO):
    """A stream that says it is a terminal, to see the progress line."""

    def isatty(self) -> bool:
        return True


def test_backup_create_shows_progress_per_file_on_a_terminal_only(
        data_dir: Path, cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    make_legacy(data_dir, rows_per_table=1)
    terminal = TerminalStream()
    with monkeypatch.context() as patch:
        patch.setattr(sys, "stderr", terminal)
        assert main(["backup", "create"]) == 0
    assert "backup: 25/25 (100%) genesis.db" in terminal.getvalue()
    piped = cli("backup", "create")
    assert piped.code == 0 and piped.err == ""



# --- restore keeps what it replaces, and asks first (issue 10 item 2) --------------------

def file_digests(directory: Path) -> dict[str, str]:
    """``{name: sha256}`` of every file directly in ``directory``."""
    import hashlib
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.iterdir()) if p.is_file()}


def test_restore_off_a_terminal_without_yes_only_previews_and_changes_nothing(
        backend: Backend, data_dir: Path, cli: Any) -> None:
    directory = make_backup(backend)
    add_accounts(backend, users=2)
    backend.close()
    before = file_digests(data_dir)
    result = cli("backup", "restore", directory.name)
    assert result.code == 1
    assert result.out.splitlines() == [
        f"would restore 1 files from {directory.name}: users.db",
        f"the data they replace would be kept as a new backup in {data_dir / 'backups'}"]
    assert result.err.splitlines() == [
        "error: restore not confirmed; nothing was changed",
        "hint: pass --yes to restore (on a terminal you are asked)"]
    assert file_digests(data_dir) == before
    assert [e.name for e in list_backups(data_dir / "backups")] == [directory.name]


def test_restore_keeps_the_replaced_files_as_a_backup_that_undoes_it(
        backend: Backend, data_dir: Path, cli: Any) -> None:
    before = user_ids(backend)
    directory = make_backup(backend)
    add_accounts(backend, users=2)
    after = user_ids(backend)
    backend.close()
    result = cli("backup", "restore", directory.name, "--yes")
    assert result.code == 0, result.err
    assert user_ids(backend) == before
    backend.close()
    (kept,) = [e for e in list_backups(data_dir / "backups") if e.name != directory.name]
    assert result.out.splitlines()[1:] == [
        f"the data it replaced is kept in backup {kept.name} ({kept.path})",
        f"undo: aragora-storage backup restore {kept.name} --yes"]
    assert [f.name for f in verify_backup(kept.path).files] == ["users.db"]
    undone = cli("backup", "restore", kept.name, "--yes")
    assert undone.code == 0, undone.err
    assert user_ids(backend) == after


# --- refusals of damaged sources and newer schemas (issue 10 item 6) ---------------------

def test_backup_of_a_damaged_database_is_refused_and_leaves_no_backup(
        backend: Backend, data_dir: Path, cli: Any) -> None:
    backend.close()
    path = data_dir / "users.db"
    content = bytearray(path.read_bytes())
    content[2 * 4096:2 * 4096 + 8] = b"\xff" * 8  # the header of a b-tree page: it opens
    # (the schema on page 1 is intact) but fails its check
    path.write_bytes(bytes(content))
    result = cli("backup", "create")
    assert result.code == 1
    lines = result.err.splitlines()
    assert lines[0].startswith(f"error: {path} is damaged (")
    assert lines[0].endswith("): a backup of it would not restore")
    assert lines[1].startswith("hint: ")
    assert list_backups(data_dir / "backups") == []


def test_backup_of_a_database_that_only_integrity_check_finds_damaged_is_refused(
        backend: Backend, data_dir: Path, cli: Any) -> None:
    """An index out of step with its table passes ``quick_check`` but not the
    ``integrity_check`` that ``backup verify`` runs: create must refuse it too."""
    backend.close()
    path = data_dir / "users.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA writable_schema=1")  # the index now claims another column
    conn.execute("UPDATE sqlite_master SET sql = 'CREATE INDEX \"idx_users_email\""
                 " ON \"users\" (\"password_hash\")' WHERE name = 'idx_users_email'")
    conn.close()
    result = cli("backup", "create")
    assert result.code == 1, result.out
    assert result.err.splitlines()[0].startswith(f"error: {path} is damaged (row ")
    assert list_backups(data_dir / "backups") == []


def test_restore_of_a_backup_with_a_newer_schema_is_refused_naming_both_versions(
        backend: Backend, data_dir: Path, cli: Any) -> None:
    from aragora_storage_core.migrations.files import discover

    directory = make_backup(backend)
    latest = discover("users")[-1].version
    manifest = json.loads((directory / "manifest.json").read_text())
    manifest["schema_versions"]["users"] = latest + 1
    (directory / "manifest.json").write_text(json.dumps(manifest))
    backend.close()
    before = file_digests(data_dir)
    result = cli("backup", "restore", directory.name, "--yes")
    assert result.code == 1
    assert result.err.splitlines()[0] == (
        f"error: backup {directory.name} has users schema version {latest + 1}, newer than"
        f" this code knows ({latest})")
    assert file_digests(data_dir) == before
