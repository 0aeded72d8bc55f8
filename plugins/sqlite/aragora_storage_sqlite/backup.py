"""SQLite backup and restore: online backup API, atomic swap back."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from aragora_storage_core.backup.manifest import describe_file, read_manifest, write_manifest
from aragora_storage_core.backup.sqlite import (
    backup_file,
    quiesce,
    replace_database,
    schema_versions,
)
from aragora_storage_core.backup.types import BackupManifest, BackupRequest, RestoreRequest
from aragora_storage_core.encryption.sqlcipher import DatabaseKey
from aragora_storage_core.errors import (
    BackupError,
    EncryptedDatabaseError,
    PlainDatabaseError,
    StorageError,
    WrongKeyError,
)
from aragora_storage_core.files import FILE_MODE, ensure_private_dir, fsync_path
from aragora_storage_core.models import utcnow_iso
from aragora_storage_core.progress import Progress
from aragora_storage_core.sqlite.connection import connect_readonly

if TYPE_CHECKING:
    from aragora_storage_sqlite.backend import SQLiteBackend


def _files(backend: SQLiteBackend) -> dict[str, Path]:
    """Backup file name -> live path, for every file of the layout."""
    files: dict[str, Path] = {}
    for label, database, _ in backend.databases():
        path = Path(database.path)
        if label in files and files[label] != path:
            raise BackupError(f"two database files are both named {label}",
                              "give the ARAGORA_DB_* overrides distinct file names")
        files[label] = path
    return files


def backup(backend: SQLiteBackend, request: BackupRequest) -> BackupManifest:
    """Copy every existing file of the layout with SQLite's online backup API."""
    if str(backend.location) == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up",
                          "use a file: sqlite:///path/to/dir or sqlite:///file.db")
    manifest = BackupManifest(backend=backend.name, created_at=utcnow_iso(),
                              extra={"layout": backend.describe()["layout"]})
    present = {name: path for name, path in _files(backend).items() if path.is_file()}
    progress = Progress("backup", total=len(present))
    try:
        for name, source in present.items():
            backup_file(source, request.directory / name, backend.settings.db_timeout,
                        key=backend.key)
            manifest.files.append(describe_file(request.directory, name))
            manifest.schema_versions.update(schema_versions(request.directory / name,
                                                            key=backend.key))
            progress.advance(note=name)
    finally:
        progress.close()
    if not manifest.files:
        raise BackupError(f"there are no database files to back up in {backend.location}",
                          "check ARAGORA_DATA_DIR / the sqlite URL points at your data")
    return manifest


def _refuse_unreadable(path: Path, key: DatabaseKey | None) -> None:
    """Refuse a backup file the configured key (or its absence) cannot open.

    A backup made before ``encrypt rekey`` (or ``encrypt encrypt``) needs the key it was
    made with; swapped in, it would stop the application at its next start.
    """
    try:
        connect_readonly(path, immutable=True, key=key).close()
    except (WrongKeyError, EncryptedDatabaseError, PlainDatabaseError) as error:
        raise type(error)(
            f"{error.message}; nothing was restored",
            "the backup was made with another key or encryption setting: see 'Restoring an "
            "older backup' in docs/encryption.md",
        ) from None


def _keep_live_files(backend: SQLiteBackend, live: dict[str, Path], keep: Path,
                     restoring: str) -> None:
    """Make ``keep`` a backup of the ``live`` files a restore is about to replace.

    Each file (its WAL already folded in) is hard-linked, so keeping it costs no copy and
    the restore's rename later leaves the old contents there; copied where links are not
    possible. A damaged file is kept as it is: its manifest records its digest, not a check.
    """
    present = {name: path for name, path in live.items() if path.is_file()}
    if not present:
        return
    ensure_private_dir(keep)
    kept = BackupManifest(backend=backend.name, created_at=utcnow_iso(),
                          extra={"layout": backend.describe()["layout"],
                                 "replaced_by_restore_of": restoring})
    for name, path in present.items():
        try:
            os.link(path, keep / name)
        except OSError:
            shutil.copyfile(path, keep / name)
        fsync_path(keep / name)
        kept.files.append(describe_file(keep, name))
        kept.schema_versions.update(_versions_if_readable(keep / name, backend.key))
    write_manifest(keep, kept)


def _versions_if_readable(path: Path, key: DatabaseKey | None) -> dict[str, int]:
    """The schema versions in ``path``; none for a damaged file (kept all the same)."""
    try:
        return schema_versions(path, key=key)
    except (StorageError, sqlite3.DatabaseError):
        return {}


def restore(backend: SQLiteBackend, request: RestoreRequest) -> BackupManifest:
    """Keep the live files in ``request.keep``, stage each backup file, rename into place."""
    manifest = read_manifest(request.directory)
    targets = _files(backend)
    for entry in manifest.files:
        if entry.name not in targets:
            raise BackupError(
                f"backup file {entry.name} has no place in this {backend.mode.value} layout",
                "restore into a backend with the layout of the backup (sqlite:///DIR?mode=...)")
    for entry in manifest.files:  # refuse before anything is staged or replaced
        _refuse_unreadable(request.directory / entry.name, backend.key)
    backend.close()
    for entry in manifest.files:
        quiesce(targets[entry.name], backend.key)
    if request.keep is not None:
        _keep_live_files(backend, {e.name: targets[e.name] for e in manifest.files},
                         request.keep, request.directory.name)
    staged: list[tuple[Path, Path]] = []
    try:
        for entry in manifest.files:
            target = targets[entry.name]
            ensure_private_dir(target.parent)
            temp = target.with_name(f".{target.name}.restoring")
            shutil.copyfile(request.directory / entry.name, temp)
            os.chmod(temp, FILE_MODE)
            fsync_path(temp)
            staged.append((temp, target))
    except BaseException:
        for temp, _ in staged:
            temp.unlink(missing_ok=True)
        raise
    for temp, target in staged:
        replace_database(temp, target, backend.settings.db_timeout, key=backend.key)
    return manifest
