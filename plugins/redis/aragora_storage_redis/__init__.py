"""The Redis backend of aragora-storage: ``redis://`` and ``rediss://``.

Serves the token blacklist, stream events and cache, either beside the primary backend
(``REDIS_URL``) or alone (``DATABASE_URL=redis://...``). See ``docs/redis.md``.
Importing this package does not import redis-py; ``RedisBackend`` loads it on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aragora_storage_core.stores.protocols import StoreKind
from aragora_storage_redis.hooks import storage_connect

if TYPE_CHECKING:
    from aragora_storage_redis.backend import RedisBackend

BACKEND_NAME = "redis"
#: The stores ``RedisBackend`` serves (read by the registry without importing redis).
STORES: frozenset[StoreKind] = frozenset(
    {StoreKind.TOKEN_BLACKLIST, StoreKind.STREAM_EVENTS, StoreKind.CACHE}
)

__all__ = [
    "BACKEND_NAME",
    "STORES",
    "RedisBackend",
    "storage_connect",
]


def __getattr__(name: str) -> Any:
    if name == "RedisBackend":
        from aragora_storage_redis.backend import RedisBackend

        return RedisBackend
    raise AttributeError(f"module 'aragora_storage_redis' has no attribute {name!r}")
