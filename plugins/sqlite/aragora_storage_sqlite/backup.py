"""SQLite backup and restore: online backup API, atomic swap back."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from aragora_storage_core.backup.manifest import describe_file, read_manifest
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


def restore(backend: SQLiteBackend, request: RestoreRequest) -> BackupManifest:
    """Stage each backup file beside its live file, then rename them into place."""
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
