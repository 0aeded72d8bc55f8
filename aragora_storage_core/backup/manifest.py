"""``manifest.json``: how a backup describes itself, written last and atomically.

A backup directory is valid only once its manifest exists, and the manifest is written
to a temporary name, flushed to disk and renamed into place after every data file is
complete; a backup killed half-way therefore never has one. Backend plugins describe
their files with :func:`describe_file`; the core writes and reads the manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from aragora_storage_core.backup.types import BackupFile, BackupManifest
from aragora_storage_core.errors import BackupError, CorruptBackupError
from aragora_storage_core.files import write_atomically

MANIFEST = "manifest.json"
FORMAT = 1
_CHUNK = 1 << 20
#: ``checked`` of a SQLite file that passed ``PRAGMA integrity_check`` when it was written.
INTEGRITY_CHECK = "integrity_check"


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of the file at ``path``."""
    with path.open("rb") as handle:
        return sha256_of_open(handle.fileno())


def sha256_of_open(fd: int) -> str:
    """Hex SHA-256 of the open file ``fd`` from its start, read in 1 MiB chunks into one
    buffer (not mapped: a mapped file's pages would count in the process's resident
    memory, growing with the file)."""
    digest = hashlib.sha256()
    buffer = memoryview(bytearray(_CHUNK))
    offset = 0
    while read := os.preadv(fd, [buffer], offset):
        digest.update(buffer[:read])
        offset += read
    return digest.hexdigest()


def describe_file(directory: Path, name: str, checked: str | None = None) -> BackupFile:
    """The manifest entry (size and SHA-256) of ``directory / name``.

    ``checked``: the check these bytes passed (e.g. :data:`INTEGRITY_CHECK`), if any.
    """
    path = directory / name
    return BackupFile(name=name, size=path.stat().st_size, sha256=sha256_of(path),
                      checked=checked)


def _file_dict(entry: BackupFile) -> dict[str, Any]:
    """One ``files`` item; ``checked`` only when recorded (earlier versions ignore it)."""
    data: dict[str, Any] = {"name": entry.name, "size": entry.size, "sha256": entry.sha256}
    if entry.checked is not None:
        data["checked"] = entry.checked
    return data


def to_dict(manifest: BackupManifest) -> dict[str, Any]:
    """JSON-ready form of ``manifest``."""
    return {
        "format": FORMAT,
        "backend": manifest.backend,
        "created_at": manifest.created_at,
        "schema_versions": dict(manifest.schema_versions),
        "files": [_file_dict(f) for f in manifest.files],
        "extra": dict(manifest.extra),
    }


def from_dict(data: Any, where: Path) -> BackupManifest:
    """Parse a manifest; :class:`CorruptBackupError` naming ``where`` if it is malformed."""
    version = data.get("format", FORMAT) if isinstance(data, dict) else FORMAT
    if isinstance(version, int) and version > FORMAT:
        raise BackupError(f"backup {where} has manifest format {version}, newer than this"
                          f" version of aragora-storage reads ({FORMAT})",
                          "upgrade aragora-storage to use this backup")
    try:
        files = [BackupFile(str(f["name"]), int(f["size"]), str(f["sha256"]),
                            None if f.get("checked") is None else str(f["checked"]))
                 for f in data["files"]]
        manifest = BackupManifest(
            backend=str(data["backend"]),
            created_at=str(data["created_at"]),
            files=files,
            schema_versions={str(k): int(v) for k, v in data.get("schema_versions", {}).items()},
            extra=dict(data.get("extra", {})),
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        raise _damaged(where, "has missing or malformed fields") from None
    for entry in manifest.files:
        if Path(entry.name).is_absolute() or ".." in Path(entry.name).parts:
            raise _damaged(where, f"names a file outside the backup ({entry.name!r})")
    return manifest


def write_manifest(directory: Path, manifest: BackupManifest) -> Path:
    """Write ``directory/manifest.json`` atomically (temp file, fsync, rename, fsync dir)."""
    final = directory / MANIFEST
    data = json.dumps(to_dict(manifest), indent=2, sort_keys=True).encode("utf-8")
    write_atomically(final, data)
    return final


def read_manifest(directory: Path) -> BackupManifest:
    """Read ``directory/manifest.json``; :class:`CorruptBackupError` if absent or damaged."""
    path = directory / MANIFEST
    if not directory.is_dir():
        raise CorruptBackupError(f"backup {directory} does not exist",
                                 "list backups with: aragora-storage backup list")
    if not path.is_file():
        raise CorruptBackupError(
            f"backup {directory} has no {MANIFEST} (incomplete: the backup was interrupted)",
            "use another backup (aragora-storage backup list); prune removes incomplete ones",
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _damaged(directory, "is not valid JSON (truncated?)") from None
    return from_dict(data, directory)


def _damaged(directory: Path, what: str) -> CorruptBackupError:
    return CorruptBackupError(
        f"the manifest of backup {directory} {what}",
        "use another backup (aragora-storage backup list)",
    )
