"""The Redis backend of aragora-storage: ``redis://`` and ``rediss://``.

Serves the token blacklist, stream events and cache, either beside the primary backend
(``REDIS_URL``) or alone (``DATABASE_URL=redis://...``). See ``docs/redis.md``.
"""

from aragora_storage_redis.backend import RedisBackend
from aragora_storage_redis.hooks import (
    storage_backup,
    storage_connect,
    storage_health,
    storage_migrate,
    storage_restore,
)

BACKEND_NAME = "redis"
STORES = RedisBackend.stores_served

__all__ = [
    "BACKEND_NAME",
    "STORES",
    "RedisBackend",
    "storage_backup",
    "storage_connect",
    "storage_health",
    "storage_migrate",
    "storage_restore",
]
