"""A backup any SQL backend gets without code of its own: every store table in one
SQLite file, written and read back by the streaming ``copy`` path.

``data.db`` in the backup directory holds every row of every store table (and the
``schema_version`` rows reached); restoring migrates the (empty) target through
``storage_migrate`` and copies the rows back. Backends with a faster native dump
(``pg_dump``, SQLite's online backup) override :meth:`SQLBackend.backup`.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from aragora_storage_core.backup.manifest import describe_file
from aragora_storage_core.backup.types import BackupManifest, BackupRequest, RestoreRequest
from aragora_storage_core.errors import BackupError, CopyError
from aragora_storage_core.files import FILE_MODE
from aragora_storage_core.migrations.types import MigrationAction, MigrationRequest
from aragora_storage_core.models import utcnow_iso
from aragora_storage_core.url import parse_url

if TYPE_CHECKING:
    from aragora_storage_core.backend import Backend, SQLBackend

DATA_FILE = "data.db"


def _sqlite(backend: SQLBackend, path: Path) -> Backend:
    """A SQLite backend on the single file ``path``, opened by ``backend``'s registry."""
    if backend.registry is None:
        raise BackupError(f"this {backend.name} backend was not opened by a registry",
                          "open it with Registry().connect(url)")
    opened: Backend = backend.registry.connect(parse_url(f"sqlite:///{path}"), "backup")
    return opened


def backup(backend: SQLBackend, request: BackupRequest) -> BackupManifest:
    """Copy every store table of ``backend`` into ``request.directory / data.db``."""
    from aragora_storage_core.copy import copy_backend

    path = request.directory / DATA_FILE
    holder = _sqlite(backend, path)
    try:
        report = copy_backend(backend.hook, backend, holder)
    finally:
        holder.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.chmod(FILE_MODE)
    if not report.ok:
        raise BackupError("the backup's row counts differ from the database's",
                          "run the backup again while fewer writes are going on")
    status = backend.migrate(MigrationRequest(MigrationAction.STATUS))
    versions = {s.db: s.version for s in status.databases if s.version} if status else {}
    return BackupManifest(backend=backend.name, created_at=utcnow_iso(),
                          files=[describe_file(request.directory, DATA_FILE)],
                          schema_versions=versions, extra={"format": "sqlite rows"})


def restore(backend: SQLBackend, request: RestoreRequest) -> BackupManifest:
    """Migrate the empty ``backend`` and copy the backup's rows into it.

    The backup file is copied to a scratch folder first: opening a SQLite file writes its
    header, and the backup must stay byte for byte as its manifest says.
    """
    from aragora_storage_core.backup.manifest import read_manifest
    from aragora_storage_core.copy import copy_backend

    manifest = read_manifest(request.directory)
    with tempfile.TemporaryDirectory(prefix="aragora-restore-") as scratch:
        path = Path(scratch) / DATA_FILE
        shutil.copyfile(request.directory / DATA_FILE, path)
        holder = _sqlite(backend, path)
        try:
            copy_backend(backend.hook, holder, backend)
        except CopyError as error:
            raise BackupError(f"{error.message}; nothing was restored",
                              "restore into an empty database (create a new one)") from None
        finally:
            holder.close()
    return manifest
