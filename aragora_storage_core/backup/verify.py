"""Check a backup before trusting it: manifest, every file's size and SHA-256, SQLite pages."""

from __future__ import annotations

from pathlib import Path

from aragora_storage_core.backup.manifest import INTEGRITY_CHECK, read_manifest, sha256_of
from aragora_storage_core.backup.sqlite import check_integrity, is_sqlite_file
from aragora_storage_core.backup.types import BackupManifest
from aragora_storage_core.errors import CorruptBackupError

_HINT = "use another backup (aragora-storage backup list)"


def verify_backup(directory: Path, *, recheck: bool = True,
                  hash_checked: bool = True) -> BackupManifest:
    """Return the manifest of ``directory`` once every file matches it.

    Raises :class:`CorruptBackupError` (one line naming the first problem) when the
    manifest is missing or damaged, a file is missing, has another size or digest, or a
    plain SQLite file fails ``PRAGMA integrity_check``.

    ``recheck=False`` (restore) trusts a file's recorded ``integrity_check``
    (:data:`INTEGRITY_CHECK`, passed when the backup was made) once its SHA-256 shows its
    bytes are those checked; a file without one (a manifest of an earlier version) still
    gets the full check. ``hash_checked=False`` leaves the SHA-256 of such a file to the
    caller, who must compare it on the copy it stages (:func:`~.staging.copy_checked`).
    """
    manifest = read_manifest(directory)
    if not manifest.files:
        raise CorruptBackupError(f"backup {directory} lists no files", _HINT)
    for entry in manifest.files:
        path = directory / entry.name
        if not path.is_file():
            raise CorruptBackupError(f"backup file {path} is missing", _HINT)
        if path.stat().st_size != entry.size:
            raise CorruptBackupError(
                f"backup file {path} has {path.stat().st_size} bytes, manifest says {entry.size}",
                _HINT)
        trusted = not recheck and entry.checked == INTEGRITY_CHECK
        if trusted and not hash_checked:
            continue
        if sha256_of(path) != entry.sha256:
            raise CorruptBackupError(f"backup file {path} does not match its SHA-256", _HINT)
        if not trusted and is_sqlite_file(path):
            check_integrity(path)
    return manifest
