"""SQLite backups: every file of the layout copied, checked and described."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from aragora_storage_core.backup.manifest import (
    INTEGRITY_CHECK,
    describe_file,
)
from aragora_storage_core.backup.sqlite import (
    backup_file,
    schema_versions,
)
from aragora_storage_core.backup.types import BackupManifest, BackupRequest
from aragora_storage_core.errors import (
    BackupError,
)
from aragora_storage_core.models import utcnow_iso
from aragora_storage_core.progress import Progress

if TYPE_CHECKING:
    from aragora_storage_sqlite.backend import SQLiteBackend


def layout_files(backend: SQLiteBackend) -> dict[str, Path]:
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
    """Copy every existing file of the layout (:func:`backup_file`: checked as written)."""
    if str(backend.location) == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up",
                          "use a file: sqlite:///path/to/dir or sqlite:///file.db")
    manifest = BackupManifest(backend=backend.name, created_at=utcnow_iso(),
                              extra={"layout": backend.describe()["layout"]})
    present = {name: path for name, path in layout_files(backend).items() if path.is_file()}
    progress = Progress("backup", total=len(present))
    try:
        for name, source in present.items():
            backup_file(source, request.directory / name, backend.settings.db_timeout,
                        key=backend.key)
            manifest.files.append(describe_file(request.directory, name, INTEGRITY_CHECK))
            manifest.schema_versions.update(schema_versions(request.directory / name,
                                                            key=backend.key))
            progress.advance(note=name)
    finally:
        progress.close()
    if not manifest.files:
        raise BackupError(f"there are no database files to back up in {backend.location}",
                          "check ARAGORA_DATA_DIR / the sqlite URL points at your data")
    return manifest
