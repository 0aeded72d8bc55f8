"""The Redis plugin's one hook: open ``redis://`` and ``rediss://`` URLs.

Importing this module imports no ``redis``: ``doctor`` and ``plugins`` import every
installed plugin, and redis-py alone costs more than the whole core. The driver loads
when a Redis URL is connected.
"""

from __future__ import annotations

from aragora_storage_core import hookimpl
from aragora_storage_core.backend import Backend
from aragora_storage_core.settings import Settings
from aragora_storage_core.url import StorageURL

SCHEMES = ("redis", "rediss")


@hookimpl
def storage_connect(url: StorageURL, settings: Settings) -> Backend | None:
    """Open ``redis://`` and ``rediss://`` URLs."""
    if url.scheme not in SCHEMES:
        return None
    from aragora_storage_redis.backend import RedisBackend

    return RedisBackend(url, settings)
