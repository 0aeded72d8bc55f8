"""The Supabase backend: the seed's Supabase tables through the project's REST API."""

from __future__ import annotations

from time import perf_counter
from typing import TYPE_CHECKING, Any, ClassVar, cast

from aragora_storage_core.backend import Backend
from aragora_storage_core.backup.types import BackupManifest, BackupRequest, RestoreRequest
from aragora_storage_core.checks import Check
from aragora_storage_core.columns import ColumnCipher, column_cipher
from aragora_storage_core.migrations.types import MigrationReport, MigrationRequest
from aragora_storage_core.settings import Settings
from aragora_storage_core.stores.protocols import StoreKind
from aragora_storage_core.url import MASK, StorageURL
from aragora_storage_supabase.errors import GrantsMissingError, TablesMissingError
from aragora_storage_supabase.project import SupabaseProject, timeout_from
from aragora_storage_supabase.tables import TABLES

if TYPE_CHECKING:
    from aragora_storage_core.aio.proxy import AsyncStore
    from aragora_storage_supabase.aio import BridgedTransport


class SupabaseBackend(Backend):
    """Every store but the cache in a Supabase project, through its REST API: the
    accounts (users, organizations, audit, usage, share links, webhooks, token blacklist)
    and the seed's Supabase tables (nomic cycles, debate artifacts, stream events, agent
    metrics). Beside another primary backend it serves only the latter (see selection).

    Opening it sends one cheap request, not retried, so a wrong key or an unreachable
    project fails here (within ``SUPABASE_TIMEOUT``), not at first use. Later reads use
    the client's own retries of GET requests (after 1, 2 and 4 s); writes are never
    retried. ``SUPABASE_DB_URL``, when set,
    is the project's direct PostgreSQL connection string, used only to apply migrations.
    """

    name: ClassVar[str] = "supabase"
    migrates_on_first_use: ClassVar[bool] = False
    stores_served: ClassVar[frozenset[StoreKind]] = frozenset(StoreKind) - {StoreKind.CACHE}

    def __init__(self, url: StorageURL, settings: Settings) -> None:
        super().__init__(url, settings)
        self.project = SupabaseProject(url, timeout_from(settings.env), settings.slow_query_ms)
        self.direct_url: str | None = settings.env.get("SUPABASE_DB_URL", "").strip() or None
        self._schema_ready = False
        self._async_project: SupabaseProject | None = None
        try:
            self.probe()
        except BaseException:
            self.project.close()
            raise

    def __repr__(self) -> str:
        return f"<SupabaseBackend {self.project.base_url} key={MASK}>"

    def probe(self) -> float:
        """One cheap request; return its latency in ms (a missing table still answers)."""
        started = perf_counter()
        self.table_exists(TABLES[0], retry=False)
        return (perf_counter() - started) * 1000

    def table_exists(self, table: str, retry: bool = True) -> bool:
        """True when the project's API knows ``table`` (``retry``: the client's GET retries).

        A table the key's role lacks grants on exists (``migrate`` repairs the grants).
        """
        query = self.project.table(table).select("*").limit(0).retry(retry)
        try:
            self.project.run(query, f"probe {table}")
        except TablesMissingError:
            return False
        except GrantsMissingError:
            return True
        return True

    def make_store(self, kind: StoreKind) -> Any:
        """Build the store ``kind``; with ``SUPABASE_DB_URL``, migrate first if allowed."""
        from aragora_storage_supabase.stores import build_store

        if self.direct_url and not self._schema_ready:
            self.auto_migrate()
            self._schema_ready = True
        return build_store(kind, self.project, self.settings, self._column_cipher)

    def make_async_store(self, kind: StoreKind, store: Any) -> AsyncStore:
        """The async twin of ``store``: the same Supabase store class, on a project whose
        requests run on supabase-py's async client (:mod:`.aio`)."""
        from aragora_storage_core.aio.bridge import run
        from aragora_storage_core.aio.proxy import AsyncStore
        from aragora_storage_supabase.stores import build_store

        if self._async_project is None:  # called under the backend's store lock
            from aragora_storage_supabase.aio import BridgedTransport

            self._async_project = SupabaseProject(
                self.url, self.project.timeout, self.settings.slow_query_ms, BridgedTransport)
        return AsyncStore(build_store(kind, self._async_project, self.settings,
                                      self._column_cipher), kind, run)

    @property
    def async_project(self) -> SupabaseProject | None:
        """The project the async stores send through (``None`` before the first one);
        its ``client`` is the running event loop's async supabase client."""
        return self._async_project

    async def aclose(self) -> None:
        """Close the HTTP connections the async stores opened on the running loop."""
        if self._async_project is not None:
            await cast("BridgedTransport", self._async_project.transport).aclose()

    def _column_cipher(self) -> ColumnCipher:
        return column_cipher(self.settings)

    def migrate(self, request: MigrationRequest) -> MigrationReport:
        """Status through the API; apply over SUPABASE_DB_URL or name the SQL editor file."""
        from aragora_storage_supabase import migrate

        return migrate.run(self, request)

    def backup(self, request: BackupRequest) -> BackupManifest:
        """Dump every table through the API into ``request.directory``."""
        from aragora_storage_supabase import backup

        return backup.backup(self, request)

    def restore(self, request: RestoreRequest) -> BackupManifest:
        """Load a backup's rows into the project's empty, migrated tables."""
        from aragora_storage_supabase import backup

        return backup.restore(self, request)

    def health(self) -> list[Check]:
        """HTTPS, API latency, which tables exist."""
        from aragora_storage_supabase import health

        return health.health(self)

    def describe(self) -> dict[str, Any]:
        """Facts for ``doctor``: the API address, HTTPS, whether a direct connection is set."""
        return super().describe() | {"api": self.project.base_url,
                                     "https": self.project.encrypted,
                                     "direct_connection": self.direct_url is not None}

    def close(self) -> None:
        """Close the HTTP connections (those of the async stores: forget them)."""
        self.project.close()
        if self._async_project is not None:
            self._async_project.close()
