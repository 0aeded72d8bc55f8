"""The Redis backend's hook implementations: connect, migrate, backup, restore, health."""

from __future__ import annotations

from aragora_storage_core import hookimpl
from aragora_storage_core.backend import Backend
from aragora_storage_core.backup.types import BackupManifest, BackupRequest, RestoreRequest
from aragora_storage_core.checks import Check
from aragora_storage_core.migrations.types import MigrationReport, MigrationRequest
from aragora_storage_core.settings import Settings
from aragora_storage_core.url import StorageURL
from aragora_storage_redis import backup, health, migrate
from aragora_storage_redis.backend import RedisBackend

SCHEMES = ("redis", "rediss")


@hookimpl
def storage_connect(url: StorageURL, settings: Settings) -> Backend | None:
    """Open ``redis://`` and ``rediss://`` URLs."""
    if url.scheme not in SCHEMES:
        return None
    return RedisBackend(url, settings)


@hookimpl
def storage_migrate(backend: Backend, request: MigrationRequest) -> MigrationReport | None:
    """Report on or apply the keyspace's data migrations."""
    if not isinstance(backend, RedisBackend):
        return None
    return migrate.run(backend, request)


@hookimpl
def storage_backup(backend: Backend, request: BackupRequest) -> BackupManifest | None:
    """DUMP every key under the prefix, with its expiry, into ``request.directory``."""
    if not isinstance(backend, RedisBackend):
        return None
    return backup.backup(backend, request)


@hookimpl
def storage_restore(backend: Backend, request: RestoreRequest) -> BackupManifest | None:
    """Replace the keys under the prefix with those of the backup."""
    if not isinstance(backend, RedisBackend):
        return None
    return backup.restore(backend, request)


@hookimpl
def storage_health(backend: Backend) -> list[Check]:
    """Latency, version, memory, persistence, restarts and transport security."""
    if not isinstance(backend, RedisBackend):
        return []
    return health.health(backend)
