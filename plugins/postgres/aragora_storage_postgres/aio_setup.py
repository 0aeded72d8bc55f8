"""Open the async path of a PostgreSQL backend, or say which extra it needs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aragora_storage_core.errors import AsyncNotSupportedError
from aragora_storage_core.settings import Settings
from aragora_storage_postgres.database import PostgresDatabase

if TYPE_CHECKING:
    from aragora_storage_postgres.aio import AsyncPostgresDatabase

#: What to install for the async path.
EXTRA = "pip install 'aragora-storage-postgres[async]' (or 'aragora-storage[all]')"


def async_database(database: PostgresDatabase, settings: Settings, *,
                   prepared: bool) -> AsyncPostgresDatabase:
    """The async adapter of ``database`` with pools sized like its synchronous ones.

    ``prepared``: let asyncpg keep its prepared-statement cache (off behind a
    transaction-mode pooler).
    """
    try:
        from aragora_storage_postgres.aio import AsyncPostgresDatabase
        from aragora_storage_postgres.aio_pools import PRIMARY, LoopPools
    except ImportError as exc:  # asyncpg or greenlet missing
        raise AsyncNotSupportedError(
            f"the PostgreSQL async API needs {exc.name or 'asyncpg'}, which is not installed",
            EXTRA) from None
    urls = {PRIMARY: database.url}
    if database.replicas is not None:
        urls.update((replica.label, replica.url) for replica in database.replicas.replicas)
    pools = LoopPools(urls, size=settings.pool_size, max_overflow=settings.pool_max_overflow,
                      timeout=settings.pool_timeout, prepared=prepared)
    return AsyncPostgresDatabase(database, pools)
