"""What restore checks (issue 12 item 2): the integrity check recorded when a backup is made,
the bytes staged compared with the manifest, and manifests of earlier versions."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from aragora_storage_core.backend import Backend
from aragora_storage_core.backup.catalog import list_backups
from aragora_storage_core.backup.manifest import sha256_of
from tests.lifecycle.conftest import add_accounts, user_ids
from tests.lifecycle.legacy_data import make_legacy
from tests.lifecycle.test_backup import file_digests, make_backup


def manifest_of(directory: Path) -> dict[str, Any]:
    """The parsed ``manifest.json`` of a backup."""
    data: dict[str, Any] = json.loads((directory / "manifest.json").read_text())
    return data


def rewrite_manifest(directory: Path, data: dict[str, Any]) -> None:
    """Replace the manifest of a backup with ``data``."""
    (directory / "manifest.json").write_text(json.dumps(data))


def edit_entry(directory: Path, index: int, **fields: Any) -> None:
    """Set ``fields`` of the manifest's ``index``-th file (``None``: remove the field)."""
    data = manifest_of(directory)
    entry = data["files"][index]
    for name, value in fields.items():
        entry.pop(name, None)
        if value is not None:
            entry[name] = value
    rewrite_manifest(directory, data)


def as_earlier_version(directory: Path) -> None:
    """Make the manifest look like one written before checks were recorded."""
    for index in range(len(manifest_of(directory)["files"])):
        edit_entry(directory, index, checked=None)


def damage_a_btree_page(path: Path) -> None:
    """Overwrite part of a b-tree page: the file opens, ``integrity_check`` fails."""
    conn = sqlite3.connect(path)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    data = bytearray(path.read_bytes())
    data[page_size * 2 + 8: page_size * 2 + 64] = b"\xee" * 56
    path.write_bytes(bytes(data))


def assert_refused(cli: Any, data_dir: Path, backup: Path, error: str) -> None:
    """``backup restore BACKUP --yes`` exits 1 with ``error`` first, and leaves every live
    file as it was, nothing staged and no kept backup."""
    before = file_digests(data_dir)
    result = cli("backup", "restore", backup.name, "--yes")
    assert result.code == 1
    assert result.err.splitlines()[0] == f"error: {error}"
    assert file_digests(data_dir) == before
    assert not [p for p in data_dir.iterdir() if p.name.endswith(".restoring")]
    assert [e.name for e in list_backups(data_dir / "backups")] == [backup.name]


def test_a_backup_records_the_integrity_check_each_file_passed(
        backend: Backend, data_dir: Path) -> None:
    directory = make_backup(backend)
    (entry,) = manifest_of(directory)["files"]
    assert entry["checked"] == "integrity_check"


def test_restore_refuses_a_backup_file_changed_after_creation_and_changes_nothing(
        backend: Backend, data_dir: Path, cli: Any) -> None:
    """A valid SQLite file whose rows were edited passes any integrity check: only the
    digest of what was checked at creation finds it."""
    directory = make_backup(backend)
    add_accounts(backend, users=1)
    backend.close()
    edited = sqlite3.connect(directory / "users.db", isolation_level=None)
    edited.execute("UPDATE users SET name = 'edited'")
    edited.close()
    assert_refused(cli, data_dir, directory,
                   f"backup file {directory / 'users.db'} does not match its SHA-256")


def test_a_file_found_altered_mid_restore_leaves_no_file_staged(
        data_dir: Path, cli: Any) -> None:
    make_legacy(data_dir, rows_per_table=2)
    assert cli("backup", "create").code == 0
    (directory,) = [e.path for e in list_backups(data_dir / "backups")]
    last = manifest_of(directory)["files"][-1]["name"]
    with (directory / last).open("ab") as handle:
        handle.write(b"\0")  # a byte more, the size in the manifest made to match
    edit_entry(directory, -1, size=(directory / last).stat().st_size)
    assert_refused(cli, data_dir, directory,
                   f"backup file {directory / last} does not match its SHA-256")


def test_a_manifest_of_an_earlier_version_restores_after_the_full_check(
        backend: Backend, data_dir: Path, cli: Any) -> None:
    before = user_ids(backend)
    directory = make_backup(backend)
    add_accounts(backend, users=2)
    backend.close()
    as_earlier_version(directory)
    result = cli("backup", "restore", directory.name, "--yes")
    assert result.code == 0, result.err
    assert user_ids(backend) == before


def test_without_a_recorded_check_restore_runs_it_and_refuses_a_damaged_file(
        backend: Backend, data_dir: Path, cli: Any) -> None:
    """The digest matches (the manifest was rewritten with the damage) but nothing says
    the bytes were checked: restore runs ``integrity_check`` and refuses them."""
    directory = make_backup(backend)
    backend.close()
    damage_a_btree_page(directory / "users.db")
    edit_entry(directory, 0, sha256=sha256_of(directory / "users.db"), checked=None)
    assert_refused(cli, data_dir, directory,
                   f"backup file {directory / 'users.db'} fails its integrity check")


def test_the_kept_files_record_no_check_so_undoing_runs_the_full_one(
        backend: Backend, data_dir: Path, cli: Any) -> None:
    directory = make_backup(backend)
    backend.close()
    assert cli("backup", "restore", directory.name, "--yes").code == 0
    (kept,) = [e.path for e in list_backups(data_dir / "backups") if e.path != directory]
    assert [f.get("checked") for f in manifest_of(kept)["files"]] == [None]
