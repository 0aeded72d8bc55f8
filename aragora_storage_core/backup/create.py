"""Make a backup of any backend through the ``storage_backup`` hook."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from aragora_storage_core.backend import Backend
from aragora_storage_core.backup.catalog import default_root, new_directory
from aragora_storage_core.backup.manifest import write_manifest
from aragora_storage_core.backup.types import BackupManifest, BackupRequest
from aragora_storage_core.errors import BackupError


def create_backup(hook: Any, backend: Backend,
                  root: Path | None = None) -> tuple[Path, BackupManifest]:
    """Back ``backend`` up into a new ``root/YYYYMMDD_HHMMSS``; return it and its manifest.

    ``hook`` is the registry's hook relay (``registry.hook``). The backend's plugin writes
    the data files and describes them; this function then writes ``manifest.json`` last
    and atomically. On an error the partial directory is removed; a process killed
    mid-way leaves a directory without a manifest, which never counts as a backup.
    """
    directory = new_directory(root or default_root(backend))
    try:
        manifest: BackupManifest | None = hook.storage_backup(
            backend=backend, request=BackupRequest(directory))
        if manifest is None:
            raise BackupError(f"no installed plugin can back up the {backend.name} backend",
                              "upgrade the backend's plugin (see aragora-storage plugins)")
        for entry in manifest.files:
            if not (directory / entry.name).is_file():
                raise BackupError(f"the {backend.name} plugin did not write {entry.name}",
                                  "report this to the plugin's authors")
        write_manifest(directory, manifest)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return directory, manifest
