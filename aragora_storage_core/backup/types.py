"""What ``storage_backup`` and ``storage_restore`` take and return."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aragora_storage_core.records import dataclass, field


@dataclass(frozen=True)
class BackupRequest:
    """Back up into ``directory`` (created by the caller, empty)."""

    directory: Path


@dataclass(frozen=True)
class RestoreRequest:
    """Restore from the backup in ``directory`` after verifying its manifest.

    ``keep`` is a directory that does not exist yet: the plugin creates it and leaves
    there, as a complete backup with its manifest, the data the restore replaces, so that
    restoring ``keep`` undoes the restore. It creates nothing when nothing is replaced.
    """

    directory: Path
    keep: Path | None = None


@dataclass(frozen=True)
class BackupFile:
    """One file of a backup: its name relative to the backup directory, size and digest.

    ``checked`` names the check the file's bytes passed when the backup was made
    (:data:`~aragora_storage_core.backup.manifest.INTEGRITY_CHECK` for a SQLite file);
    ``None`` when none is recorded (other backends, manifests of earlier versions).
    """

    name: str
    size: int
    sha256: str
    checked: str | None = None


@dataclass
class BackupManifest:
    """``manifest.json`` of a backup directory."""

    backend: str
    created_at: str
    files: list[BackupFile] = field(default_factory=list)
    schema_versions: dict[str, int] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
