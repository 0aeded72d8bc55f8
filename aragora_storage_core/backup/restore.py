"""Restore any backend from a verified backup through the ``storage_restore`` hook."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aragora_storage_core.backend import Backend
from aragora_storage_core.backup.types import BackupManifest, RestoreRequest
from aragora_storage_core.backup.verify import verify_backup
from aragora_storage_core.errors import BackupError


def restore_backup(hook: Any, backend: Backend, directory: Path) -> BackupManifest:
    """Verify the backup in ``directory`` completely, then restore ``backend`` from it.

    Nothing live is touched unless the manifest and every file check out and the backup
    was made by the same kind of backend.
    """
    manifest = verify_backup(directory)
    if manifest.backend != backend.name:
        raise BackupError(
            f"backup {directory.name} is of a {manifest.backend} backend, not {backend.name}",
            "to move data between backends use: aragora-storage copy --from URL --to URL",
        )
    restored: BackupManifest | None = hook.storage_restore(
        backend=backend, request=RestoreRequest(directory))
    if restored is None:
        raise BackupError(f"no installed plugin can restore the {backend.name} backend",
                          "upgrade the backend's plugin (see aragora-storage plugins)")
    return restored
