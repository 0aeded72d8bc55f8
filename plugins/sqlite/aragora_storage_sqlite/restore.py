"""SQLite restore: stage each backup file checked, keep the live files, swap into place."""

from __future__ import annotations

import os
import shutil
import sqlite3
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import TYPE_CHECKING

from aragora_storage_core.backup.manifest import describe_file, read_manifest, write_manifest
from aragora_storage_core.backup.sqlite import quiesce, replace_database, schema_versions
from aragora_storage_core.backup.staging import copy_checked
from aragora_storage_core.backup.types import BackupFile, BackupManifest, RestoreRequest
from aragora_storage_core.encryption.sqlcipher import DatabaseKey
from aragora_storage_core.errors import (
    BackupError,
    EncryptedDatabaseError,
    PlainDatabaseError,
    StorageError,
    WrongKeyError,
)
from aragora_storage_core.files import ensure_private_dir, fsync_path
from aragora_storage_core.models import utcnow_iso
from aragora_storage_core.sqlite.connection import connect_readonly
from aragora_storage_sqlite.backup import layout_files

if TYPE_CHECKING:
    from aragora_storage_sqlite.backend import SQLiteBackend


def restore(backend: SQLiteBackend, request: RestoreRequest) -> BackupManifest:
    """Stage each backup file checked against the manifest beside its live file, keep the
    live files in ``request.keep``, rename the staged files into place.

    Every staged file's SHA-256 is compared once it is copied (:func:`copy_checked`), so a
    backup file altered since it was made is refused before any live file is touched
    (even while the server still runs); only then are the live files checked unused,
    their WAL folded in, kept and replaced. Two threads copy, hash and flush the files
    (and hash the kept ones), so a second core shortens the restore; the directory is
    flushed once after the renames.
    """
    manifest = read_manifest(request.directory)
    targets = layout_files(backend)
    for entry in manifest.files:
        if entry.name not in targets:
            raise BackupError(
                f"backup file {entry.name} has no place in this {backend.mode.value} layout",
                "restore into a backend with the layout of the backup (sqlite:///DIR?mode=...)")
    for entry in manifest.files:  # refuse before anything is staged or replaced
        _refuse_unreadable(request.directory / entry.name, backend.key)
    live = {entry.name: targets[entry.name] for entry in manifest.files}
    temps = {name: path.with_name(f".{path.name}.restoring") for name, path in live.items()}
    staging: list[Future[None]] = []
    with ThreadPoolExecutor(2) as workers:  # copies, SHA-256 and fsyncs release the GIL
        try:
            for target in live.values():
                ensure_private_dir(target.parent)
            staging = [workers.submit(copy_checked, request.directory / entry.name,
                                      temps[entry.name], entry) for entry in manifest.files]
            for copying in staging:
                copying.result()
            backend.close()
            for target in live.values():
                quiesce(target, backend.key)
            if request.keep is not None:
                _keep_live_files(backend, live, request.keep, request.directory.name, workers)
        except BaseException:
            wait(staging)
            for temp in temps.values():
                temp.unlink(missing_ok=True)
            raise
    staged = [(temps[name], target) for name, target in live.items()]
    for temp, target in staged:
        replace_database(temp, target, backend.settings.db_timeout, key=backend.key,
                         sync_dir=False)
    for directory in {target.parent for _, target in staged}:
        fsync_path(directory)  # the renames, durable together
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
                     restoring: str, workers: ThreadPoolExecutor) -> None:
    """Make ``keep`` a backup of the ``live`` files a restore is about to replace.

    Each file (its WAL already folded in) is hard-linked, so keeping it costs no copy and
    the restore's rename later leaves the old contents there; copied where links are not
    possible. The links are flushed and hashed by ``workers``. A damaged file is kept as
    it is: its manifest records its digest, not a check.
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
    kept.files.extend(workers.map(lambda name: _flushed_entry(keep, name), present))
    for name in present:
        kept.schema_versions.update(_versions_if_readable(keep / name, backend.key))
    write_manifest(keep, kept)


def _flushed_entry(directory: Path, name: str) -> BackupFile:
    """Flush ``directory / name`` and describe it for a manifest."""
    fsync_path(directory / name)
    return describe_file(directory, name)


def _versions_if_readable(path: Path, key: DatabaseKey | None) -> dict[str, int]:
    """The schema versions in ``path``; none for a damaged file (kept all the same)."""
    try:
        return schema_versions(path, key=key)
    except (StorageError, sqlite3.DatabaseError):
        return {}
