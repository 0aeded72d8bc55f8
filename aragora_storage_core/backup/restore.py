"""Restore any backend from a verified backup through the ``storage_restore`` hook."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from aragora_storage_core.backend import Backend
from aragora_storage_core.backup.catalog import unused_directory
from aragora_storage_core.backup.manifest import MANIFEST
from aragora_storage_core.backup.types import BackupManifest, RestoreRequest
from aragora_storage_core.backup.verify import verify_backup
from aragora_storage_core.errors import BackupError
from aragora_storage_core.migrations.files import discover, search_path
from aragora_storage_core.records import dataclass


@dataclass(frozen=True)
class RestoreResult:
    """What a restore put in place, and the backup holding what it replaced (if any)."""

    manifest: BackupManifest
    kept: Path | None


def check_restorable(backend: Backend, directory: Path, *,
                     copies_checked: bool = False) -> BackupManifest:
    """Verify the backup in ``directory`` for a restore and that ``backend`` can take it.

    Every file's size and SHA-256; ``PRAGMA integrity_check`` of every plain SQLite file
    whose manifest does not record that it passed it when the backup was made
    (:func:`verify_backup` with ``recheck=False``). ``copies_checked``: the backend's
    restore compares the SHA-256 of what it copies (the backend's
    ``restore_copies_checked``), so files with a recorded check are not hashed here too.
    """
    manifest = verify_backup(directory, recheck=False, hash_checked=not copies_checked)
    if manifest.backend != backend.name:
        raise BackupError(
            f"backup {directory.name} is of a {manifest.backend} backend, not {backend.name}",
            "to move data between backends use: aragora-storage copy --from URL --to URL",
        )
    refuse_newer_schema(manifest, directory.name)
    return manifest


def refuse_newer_schema(manifest: BackupManifest, name: str) -> None:
    """Refuse a backup recording a schema version newer than this code's migrations."""
    for db, version in sorted(manifest.schema_versions.items()):
        files = discover(db, search_path())
        latest = files[-1].version if files else None
        if latest is not None and version > latest:
            raise BackupError(
                f"backup {name} has {db} schema version {version}, newer than this code"
                f" knows ({latest})",
                "restore it with the version of aragora-storage (and of the application)"
                " that made it, or a newer one")


def restore_backup(hook: Any, backend: Backend, directory: Path,
                   keep_root: Path | None = None) -> RestoreResult:
    """Verify the backup in ``directory`` completely, then restore ``backend`` from it.

    Nothing live is touched unless the manifest and every file check out and the backup
    was made by the same kind of backend (:func:`check_restorable`; for a backend whose
    restore copies with :func:`~.staging.copy_checked`, the digests are compared as the
    files are staged, before anything is replaced). The data the restore replaces is kept
    as a new backup under ``keep_root`` (default: beside ``directory``), named in the result.
    """
    check_restorable(backend, directory, copies_checked=backend.restore_copies_checked)
    keep = unused_directory(keep_root or directory.parent)
    try:
        restored: BackupManifest | None = hook.storage_restore(
            backend=backend, request=RestoreRequest(directory, keep))
    finally:
        kept = keep if (keep / MANIFEST).is_file() else None
        if kept is None and keep.exists():
            shutil.rmtree(keep, ignore_errors=True)
    if restored is None:
        raise BackupError(f"no installed plugin can restore the {backend.name} backend",
                          "upgrade the backend's plugin (see aragora-storage plugins)")
    return RestoreResult(restored, kept)
