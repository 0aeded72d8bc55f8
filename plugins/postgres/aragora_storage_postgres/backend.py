"""Every logical database of the layout in one PostgreSQL database."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from aragora_storage_core.backend import SQLBackend
from aragora_storage_core.columns import ColumnCipher
from aragora_storage_core.layout import DatabaseType
from aragora_storage_core.settings import Settings
from aragora_storage_core.url import StorageURL
from aragora_storage_postgres.database import PostgresDatabase

if TYPE_CHECKING:  # backup and health load their modules when used, not at the first call
    from aragora_storage_core.backup.types import BackupManifest, BackupRequest, RestoreRequest
    from aragora_storage_core.checks import Check


class PostgresBackend(SQLBackend):
    """PostgreSQL backend: ``postgresql://user:password@host:port/database?sslmode=...``.

    Opening it checks out one connection, so a wrong URL fails here, not at first use.
    """

    name = "postgresql"

    def __init__(self, url: StorageURL, settings: Settings,
                 cipher: ColumnCipher | None = None) -> None:
        super().__init__(url, settings, cipher)
        self.database = PostgresDatabase(
            url, pool_size=settings.pool_size, max_overflow=settings.pool_max_overflow,
            pool_timeout=settings.pool_timeout, slow_query_ms=settings.slow_query_ms)
        self.database.pool.release(self.database.pool.acquire())

    def database_for(self, db_type: DatabaseType) -> PostgresDatabase:
        """The one database: every logical database's tables live in it."""
        return self.database

    def databases(self) -> Iterable[tuple[str, PostgresDatabase, tuple[DatabaseType, ...]]]:
        """One entry holding every logical database."""
        return [(self.database.label, self.database, tuple(DatabaseType))]

    def describe(self) -> dict[str, Any]:
        """Connection target and pool limits for ``doctor``; never the password."""
        facts = super().describe()
        facts["pool"] = self.database.pool.usage()
        return facts

    def backup(self, request: BackupRequest) -> BackupManifest:
        """``pg_dump -Fc`` when a new enough ``pg_dump`` is on PATH, else a COPY dump."""
        from aragora_storage_postgres import backup

        return backup.dump(self, request.directory)

    def restore(self, request: RestoreRequest) -> BackupManifest:
        """Restore a backup made by :meth:`backup` into an empty database."""
        from aragora_storage_postgres import backup

        return backup.restore(self, request.directory)

    def health(self) -> list[Check]:
        """Round trip of every database, server version, pool usage, TLS in use.

        Pending migrations are reported for every backend by the core's schema check.
        """
        from aragora_storage_postgres.health import health

        return [*super().health(), *health(self)]
