"""The core's own plugin: every operation hook answered last by the backend's methods.

Registered like any other plugin. Each operation hook is ``trylast`` and calls the
backend's typed method (``backend.migrate(request)``, ...), so a plugin that wraps a hook
sees every call and one that answers first takes the operation over. Doctor's own checks
(schema, backups, keys, stray files) are ``storage_health`` implementations here too.
The modules behind the health checks load when ``doctor`` first calls them, not with
this plugin (every registry registers it before the first store call).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aragora_storage_core.hookspecs import hookimpl

if TYPE_CHECKING:
    from aragora_storage_core.backend import Backend
    from aragora_storage_core.backup.types import BackupManifest, BackupRequest, RestoreRequest
    from aragora_storage_core.checks import Check
    from aragora_storage_core.encryption.types import EncryptionRequest, EncryptionStatus
    from aragora_storage_core.migrations.types import MigrationReport, MigrationRequest


@hookimpl(trylast=True)
def storage_migrate(backend: Backend, request: MigrationRequest) -> MigrationReport | None:
    """The backend's own migrations: ``backend.migrate(request)``."""
    return backend.migrate(request)


@hookimpl(trylast=True)
def storage_backup(backend: Backend, request: BackupRequest) -> BackupManifest | None:
    """The backend's own backup: ``backend.backup(request)``."""
    return backend.backup(request)


@hookimpl(trylast=True)
def storage_restore(backend: Backend, request: RestoreRequest) -> BackupManifest | None:
    """The backend's own restore: ``backend.restore(request)``."""
    return backend.restore(request)


@hookimpl(trylast=True)
def storage_encrypt(backend: Backend, request: EncryptionRequest) -> EncryptionStatus | None:
    """The backend's own encryption at rest: ``backend.encrypt(request)``."""
    return backend.encrypt(request)


@hookimpl(trylast=True)
def storage_health(backend: Backend) -> list[Check]:
    """The backend's own findings: ``backend.health()``."""
    return backend.health()


@hookimpl(specname="storage_health", trylast=True)
def schema_health(backend: Backend) -> list[Check]:
    """Pending migrations and applied files changed since (asked of ``storage_migrate``)."""
    from aragora_storage_core.doctor_checks import schema_findings

    return schema_findings(backend)


@hookimpl(specname="storage_health", trylast=True)
def backup_health(backend: Backend) -> list[Check]:
    """How old the newest complete backup in the backend's backup folder is."""
    from aragora_storage_core.backup.health import backup_findings

    return backup_findings(backend)


@hookimpl(specname="storage_health", trylast=True)
def key_health(backend: Backend) -> list[Check]:
    """Strength and permissions of the configured encryption keys and key files."""
    from aragora_storage_core.encryption.checks import key_checks

    return key_checks(backend.settings)


@hookimpl(specname="storage_health", trylast=True)
def stray_file_health(backend: Backend) -> list[Check]:
    """``*.db`` files in the working directory that belong under the data directory."""
    from aragora_storage_core.doctor_checks import stray_files

    return stray_files(backend.settings)

