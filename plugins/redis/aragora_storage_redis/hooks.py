"""The Redis backend's hook implementations: connect, migrate, backup, restore, health.

Importing this module imports no ``redis``: ``doctor`` and ``plugins`` import every
installed plugin, and redis-py alone costs more than the whole core. The driver loads
when a Redis URL is connected; until then no backend can be a Redis one.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, cast

from aragora_storage_core import hookimpl
from aragora_storage_core.backend import Backend
from aragora_storage_core.backup.types import BackupManifest, BackupRequest, RestoreRequest
from aragora_storage_core.checks import Check
from aragora_storage_core.migrations.types import MigrationReport, MigrationRequest
from aragora_storage_core.settings import Settings
from aragora_storage_core.url import StorageURL

if TYPE_CHECKING:
    from aragora_storage_redis.backend import RedisBackend

SCHEMES = ("redis", "rediss")


def _as_redis(backend: Backend) -> RedisBackend | None:
    """``backend`` if it is a Redis backend (without importing redis to find out)."""
    module = sys.modules.get("aragora_storage_redis.backend")
    if module is None or not isinstance(backend, module.RedisBackend):
        return None
    return cast("RedisBackend", backend)


@hookimpl
def storage_connect(url: StorageURL, settings: Settings) -> Backend | None:
    """Open ``redis://`` and ``rediss://`` URLs."""
    if url.scheme not in SCHEMES:
        return None
    from aragora_storage_redis.backend import RedisBackend

    return RedisBackend(url, settings)


@hookimpl
def storage_migrate(backend: Backend, request: MigrationRequest) -> MigrationReport | None:
    """Report on or apply the keyspace's data migrations."""
    redis_backend = _as_redis(backend)
    if redis_backend is None:
        return None
    from aragora_storage_redis import migrate

    return migrate.run(redis_backend, request)


@hookimpl
def storage_backup(backend: Backend, request: BackupRequest) -> BackupManifest | None:
    """DUMP every key under the prefix, with its expiry, into ``request.directory``."""
    redis_backend = _as_redis(backend)
    if redis_backend is None:
        return None
    from aragora_storage_redis import backup

    return backup.backup(redis_backend, request)


@hookimpl
def storage_restore(backend: Backend, request: RestoreRequest) -> BackupManifest | None:
    """Replace the keys under the prefix with those of the backup."""
    redis_backend = _as_redis(backend)
    if redis_backend is None:
        return None
    from aragora_storage_redis import backup

    return backup.restore(redis_backend, request)


@hookimpl
def storage_health(backend: Backend) -> list[Check]:
    """Latency, version, memory, persistence, restarts and transport security."""
    redis_backend = _as_redis(backend)
    if redis_backend is None:
        return []
    from aragora_storage_redis import health

    return health.health(redis_backend)
