"""Every logical database of the layout in one PostgreSQL database."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from aragora_storage_core.backend import SQLBackend
from aragora_storage_core.columns import ColumnCipher
from aragora_storage_core.errors import ConfigurationError, InvalidURLError
from aragora_storage_core.layout import DATABASES, DatabaseType
from aragora_storage_core.settings import Settings
from aragora_storage_core.stores.protocols import StoreKind
from aragora_storage_core.url import StorageURL, parse_url
from aragora_storage_postgres.database import PostgresDatabase

if TYPE_CHECKING:  # backup and health load their modules when used, not at the first call
    from aragora_storage_core.backup.types import BackupManifest, BackupRequest, RestoreRequest
    from aragora_storage_core.checks import Check


class PostgresBackend(SQLBackend):
    """PostgreSQL backend: ``postgresql://user:password@host:port/database?sslmode=...``.

    Opening it checks out one connection, so a wrong URL fails here, not at first use.
    ``DATABASE_REPLICA_URLS`` adds read replicas; a replica that is down when the backend
    opens is only reported (reads go to the primary until it answers).
    """

    name = "postgresql"
    migrates_on_first_use = False

    def __init__(self, url: StorageURL, settings: Settings,
                 cipher: ColumnCipher | None = None) -> None:
        super().__init__(url, settings, cipher)
        self.database = PostgresDatabase(
            url, pool_size=settings.pool_size, max_overflow=settings.pool_max_overflow,
            pool_timeout=settings.pool_timeout, slow_query_ms=settings.slow_query_ms)
        self.database.pool.release(self.database.pool.acquire())
        self._transaction_pooler: bool | None = None
        self._async_db: Any = None
        if settings.replica_urls:
            self.database.add_replicas(replica_urls(settings.replica_urls),
                                       max_lag=settings.max_replica_lag,
                                       window=settings.read_your_writes_window)

    def make_async_store(self, kind: StoreKind, store: Any) -> Any:
        """The async twin of ``store``: the same store class on asyncpg's
        connections (:mod:`aragora_storage_postgres.aio`), run through the greenlet bridge.

        Needs the ``async`` extra (``pip install 'aragora-storage-postgres[async]'``).
        The first call probes for a transaction-mode pooler (blocking, once).
        """
        from aragora_storage_core.aio.proxy import AsyncStore
        from aragora_storage_core.aio.twin_rules import SQL

        database = self._async_database()
        runner = _runner(database.replicas)
        # simple methods as coroutine twins, unless replicas need the runner's clock
        return AsyncStore(self.build_sql_store(kind, database), kind, runner,
                          twins=SQL if database.replicas is None else None)

    def _async_database(self) -> Any:
        """The async adapter of :attr:`database`, made once (its pools open per loop)."""
        if self._async_db is None:
            from aragora_storage_postgres.aio_setup import async_database

            self._async_db = async_database(self.database, self.settings,
                                            prepared=not self.behind_transaction_pooler())
        return self._async_db

    async def aclose(self) -> None:
        """Close the async pools of the running event loop."""
        if self._async_db is not None:
            await self._async_db.pools.aclose()

    def close(self) -> None:
        """Close every connection: the async pools' (never waiting on a loop) and the rest."""
        if self._async_db is not None:
            self._async_db.pools.close()
        super().close()

    def behind_transaction_pooler(self) -> bool:
        """True when a transaction-mode pooler (PgBouncer, ...) is in front (probed once)."""
        if self._transaction_pooler is None:
            from aragora_storage_postgres.pooler import behind_transaction_pooler

            self._transaction_pooler = behind_transaction_pooler(self.database.url)
        return self._transaction_pooler

    def database_for(self, db_type: DatabaseType) -> PostgresDatabase:
        """The one database: every logical database's tables live in it."""
        return self.database

    def databases(self) -> Iterable[tuple[str, PostgresDatabase, tuple[DatabaseType, ...]]]:
        """One entry holding every logical database."""
        return [(self.database.label, self.database, tuple(info.type for info in DATABASES))]

    def describe(self) -> dict[str, Any]:
        """Connection target and pool limits for ``doctor``; never the password."""
        facts = super().describe()
        facts["pool"] = self.database.pool.usage()
        if self.database.replicas is not None:
            facts["replicas"] = [r.to_dict() for r in self.database.replicas.reports()]
        return facts

    def backup(self, request: BackupRequest) -> BackupManifest:
        """``pg_dump -Fc`` when a new enough ``pg_dump`` is on PATH, else a COPY dump."""
        from aragora_storage_core.consistency import primary_reads
        from aragora_storage_postgres import backup

        with primary_reads():
            return backup.dump(self, request.directory)

    def restore(self, request: RestoreRequest) -> BackupManifest:
        """Restore a backup made by :meth:`backup` into an empty database."""
        from aragora_storage_core.consistency import primary_reads
        from aragora_storage_postgres import backup

        with primary_reads():
            return backup.restore(self, request.directory)

    def health(self) -> list[Check]:
        """Round trip of the primary, server version, pool usage, TLS in use, a
        transaction-mode pooler in front, and each replica's state and lag.

        Pending migrations are reported for every backend by the core's schema check.
        """
        from aragora_storage_core.consistency import primary_reads
        from aragora_storage_postgres.health import health

        with primary_reads():
            return [*super().health(), *health(self)]

def _runner(replicas: Any) -> Any:
    """The bridge's runner; with replicas, one that first gives the task its write clock."""
    from aragora_storage_core.aio.bridge import run

    if replicas is None:
        return run
    import asyncio

    own_clock = replicas.own_clock

    async def routed(fn: Any, *args: Any, **kwargs: Any) -> Any:
        own_clock(asyncio.current_task())
        return await run(fn, *args, **kwargs)

    return routed


def replica_urls(texts: tuple[str, ...]) -> list[StorageURL]:
    """Parse ``DATABASE_REPLICA_URLS`` entries; a bad one names its position, never its text."""
    urls = []
    for position, text in enumerate(texts, 1):
        try:
            url = parse_url(text)
        except InvalidURLError as error:
            raise ConfigurationError(f"DATABASE_REPLICA_URLS entry {position}: {error.message}",
                                     error.hint) from None
        if url.scheme != "postgresql":
            raise ConfigurationError(
                f"DATABASE_REPLICA_URLS entry {position} is a {url.scheme}:// URL, not a"
                " PostgreSQL replica", "list postgresql:// URLs of the primary's standbys")
        urls.append(url)
    return urls
