"""The object a backend plugin's ``storage_connect`` returns, and its SQL flavour.

A backend's behaviour lives on it: :meth:`Backend.migrate`, :meth:`~Backend.backup`,
:meth:`~Backend.restore`, :meth:`~Backend.encrypt` and :meth:`~Backend.health` do that
backend's work. The core's built-in plugin answers each operation hook last by calling
them, so extension plugins can wrap or take over any operation.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable
from time import perf_counter
from typing import TYPE_CHECKING, Any, ClassVar

from aragora_storage_core.columns import ColumnCipher, column_cipher
from aragora_storage_core.errors import (
    AsyncNotSupportedError,
    SchemaNotReadyError,
    StorageError,
    StoreNotServedError,
)
from aragora_storage_core.layout import (
    DATABASE_INFO,
    DATABASES,
    DatabaseInfo,
    DatabaseType,
    Naming,
)
from aragora_storage_core.migrations.types import (
    MigrationAction,
    MigrationReport,
    MigrationRequest,
)
from aragora_storage_core.settings import Settings
from aragora_storage_core.sql.database import SQLDatabase
from aragora_storage_core.stores.protocols import StoreKind
from aragora_storage_core.stores.table import STORE_TABLE, STORES
from aragora_storage_core.url import StorageURL

if TYPE_CHECKING:
    from aragora_storage_core.backup.types import BackupManifest, BackupRequest, RestoreRequest
    from aragora_storage_core.checks import Check
    from aragora_storage_core.encryption.types import EncryptionRequest, EncryptionStatus


class Backend(ABC):
    """An open backend: hands out stores, does its operations, closes its connections.

    ``name`` is the backend's name (``sqlite``, ``postgresql``, ...); ``stores_served``
    lists the store kinds it implements. ``registry`` is the registry that opened it and
    ``hook`` that registry's hook relay (both set by :meth:`Registry.connect`): the
    backend runs its own automatic migrations through the hook, so that
    ``storage_migrate`` wrappers see them too, and opens other backends it needs (a
    SQLite file for a backup, a direct connection) with ``registry.connect(url)``.
    """

    name: ClassVar[str]
    stores_served: ClassVar[frozenset[StoreKind]]
    #: Whether pending migrations are applied when a store is first used while
    #: ``ARAGORA_AUTO_MIGRATE`` is unset. Server backends, whose databases are shared and
    #: named by a URL that may point elsewhere than meant, say no: ``migrate`` applies them.
    migrates_on_first_use: ClassVar[bool] = True
    #: True when :meth:`restore` copies every backup file with
    #: :func:`~aragora_storage_core.backup.staging.copy_checked` (comparing its SHA-256
    #: on the staged copy, before replacing anything), so the core does not hash them first.
    restore_copies_checked: ClassVar[bool] = False
    hook: Any = None
    registry: Any = None

    def __init__(self, url: StorageURL, settings: Settings) -> None:
        self.url = url
        self.settings = settings
        self._stores: dict[StoreKind, Any] = {}
        self._async_stores: dict[StoreKind, Any] = {}
        self._stores_lock = threading.Lock()

    def migrate(self, request: MigrationRequest) -> MigrationReport | None:
        """Report on, apply or roll back this backend's migrations.

        :return: the report, or ``None`` when this backend has no migrations.
        """
        return None

    def backup(self, request: BackupRequest) -> BackupManifest | None:
        """Write a backup into ``request.directory``; ``None`` when it cannot back up."""
        return None

    def marker(self) -> str | None:
        """The token :meth:`renew_marker` last stored in this backend's data, if still there.

        For backends that can lose their data behind the application's back (a Redis
        without persistence); ``None`` for the others.
        """
        return None

    def renew_marker(self) -> str | None:
        """Store a fresh random token in this backend's data; ``None`` when it keeps none."""
        return None

    def remembered(self, name: str) -> tuple[str, str] | None:
        """``(token, recorded_at)`` of the marker this primary remembers under ``name``."""
        return None

    def remember(self, name: str, token: str) -> bool:
        """Remember ``token`` under ``name``; ``False`` when this backend cannot."""
        return False

    def restore(self, request: RestoreRequest) -> BackupManifest | None:
        """Restore from the verified backup in ``request.directory``; ``None`` if it cannot."""
        return None

    def encrypt(self, request: EncryptionRequest) -> EncryptionStatus | None:
        """Report or change encryption at rest; ``None`` when it has none of its own."""
        return None

    def health(self) -> list[Check]:
        """This backend's own findings (connectivity, latency, versions, ...)."""
        return []

    def auto_migrate(self, db: str | None = None) -> None:
        """Apply pending migrations (of ``db``, or all) if automatic migration is on.

        On when ``ARAGORA_AUTO_MIGRATE=1``, off when ``0``; unset, the backend's
        ``migrates_on_first_use`` decides. When off, :meth:`require_schema` checks instead.
        Goes through the ``storage_migrate`` hook when the backend was opened by a
        registry, so wrappers see automatic migrations like any other.
        """
        wanted = self.settings.auto_migrate
        if not (self.migrates_on_first_use if wanted is None else wanted):
            self.require_schema(db)
            return
        self.run_migrations(MigrationRequest(MigrationAction.MIGRATE, db=db, automatic=True))

    def run_migrations(self, request: MigrationRequest) -> MigrationReport | None:
        """Run ``request`` through the ``storage_migrate`` hook (directly when no registry)."""
        if self.hook is None:
            return self.migrate(request)
        report: MigrationReport | None = self.hook.storage_migrate(backend=self,
                                                                    request=request)
        return report

    def require_schema(self, db: str | None = None) -> None:
        """Raise :class:`SchemaNotReadyError` when ``db`` (or any) was never migrated.

        Called instead of migrating when automatic migration is off; the default checks
        nothing (the store's first query says what is missing).
        """

    def serves(self, kind: StoreKind | str) -> bool:
        """True when this backend implements the store ``kind``."""
        return StoreKind(kind) in self.stores_served

    def store(self, kind: StoreKind | str) -> Any:
        """Return the store ``kind`` (built once, then shared)."""
        kind = StoreKind(kind)
        store = self._stores.get(kind)
        if store is not None:
            return store
        if kind not in self.stores_served:
            raise StoreNotServedError(
                f"backend {self.name} does not serve the {kind.value} store",
                "see `aragora-storage plugins` for the backends that do",
            )
        with self._stores_lock:
            store = self._stores.get(kind)
            if store is None:
                store = self._stores[kind] = self.make_store(kind)
        return store

    @abstractmethod
    def make_store(self, kind: StoreKind) -> Any:
        """Build the store ``kind``; called once per kind."""

    def astore(self, kind: StoreKind | str) -> Any:
        """The async twin of the store ``kind`` (built once, then shared; docs/async.md).

        Its methods are coroutine functions running the synchronous store's logic through
        this backend's async path (:meth:`make_async_store`).
        """
        kind = StoreKind(kind)
        store = self._async_stores.get(kind)
        if store is None:
            sync_store = self.store(kind)
            with self._stores_lock:
                store = self._async_stores.get(kind)
                if store is None:
                    store = self._async_stores[kind] = self.make_async_store(kind, sync_store)
        return store

    def make_async_store(self, kind: StoreKind, store: Any) -> Any:
        """Build the async twin of ``store`` (the store ``kind``); called once per kind.

        A backend with an async path returns
        ``AsyncStore(its own store on async connections, protocol, runner)``; this default
        says there is none.
        """
        raise AsyncNotSupportedError(
            f"the {self.name} backend has no async API for the {StoreKind(kind).value} store",
            "call registry.store(...) from a thread (asyncio.to_thread), or upgrade its plugin",
        )

    async def aclose(self) -> None:
        """Close the async connections this backend opened on the running event loop."""

    def describe(self) -> dict[str, Any]:
        """Facts for ``doctor`` and ``explain``; never secrets."""
        return {"backend": self.name, "url": self.url.render()}

    def close(self) -> None:
        """Release every connection."""


class SQLBackend(Backend):
    """A backend whose stores are the shared SQL stores over :class:`SQLDatabase` objects.

    Subclasses say which database holds each logical database (``database_for``) and
    list every distinct database (``databases``). ``naming`` says how tables are named
    there: one database holding every table (the default) uses the shared names.
    """

    stores_served: ClassVar[frozenset[StoreKind]] = frozenset(
        spec.kind for spec in STORE_TABLE if spec.sql_implementation is not None)
    naming: Naming = Naming.SHARED

    def __init__(self, url: StorageURL, settings: Settings,
                 cipher: ColumnCipher | None = None) -> None:
        super().__init__(url, settings)
        self.cipher: ColumnCipher = cipher or column_cipher(settings)
        self._migrated: set[DatabaseType] = set()

    @abstractmethod
    def database_for(self, db_type: DatabaseType) -> SQLDatabase:
        """The database that holds the tables of ``db_type``."""

    @abstractmethod
    def databases(self) -> Iterable[tuple[str, SQLDatabase, tuple[DatabaseType, ...]]]:
        """Every distinct database as ``(label, database, logical databases it holds)``."""

    def make_store(self, kind: StoreKind) -> Any:
        """Build the shared SQL store ``kind`` on its database (migrated first if allowed)."""
        spec = STORES[kind]
        if spec.database is None:
            raise LookupError(f"no SQL implementation of the {kind.value} store")
        self.ensure_schema(spec.database)
        return self.build_sql_store(kind, self.database_for(spec.database))

    def build_sql_store(self, kind: StoreKind, database: SQLDatabase) -> Any:
        """The shared SQL store ``kind`` on ``database``, with this backend's settings.

        :meth:`make_store` passes the store's own database; an async path passes its async
        adapter of that database (docs/async.md), so both run the same store class.
        """
        spec = STORES[kind]
        return spec.sql_class()(database, *spec.sql_arguments(self.settings, self.cipher))

    def ensure_schema(self, db_type: DatabaseType) -> None:
        """Apply pending migrations of ``db_type`` once (or check it was migrated)."""
        if db_type in self._migrated:
            return
        self.auto_migrate(DATABASE_INFO[db_type].type.value)
        self._migrated.add(db_type)

    def require_schema(self, db: str | None = None) -> None:
        """Raise :class:`SchemaNotReadyError` for a logical database never migrated here.

        A database with some migrations applied and others pending is left to work (a
        deployment may run new code just before ``migrate``).
        """
        report = self.run_migrations(MigrationRequest(MigrationAction.STATUS, db=db))
        for status in report.databases if report else ():
            if status.pending and not status.applied:
                raise SchemaNotReadyError(
                    f"the {self.name} database {self.url} has no {status.db} tables yet"
                    f" ({len(status.pending)} migrations pending)",
                    "run: aragora-storage migrate --migrate (or set ARAGORA_AUTO_MIGRATE=1"
                    " to apply migrations when a store is first used)")

    def migrator(self, info: DatabaseInfo, location: str | None = None) -> Any:
        """The :class:`~.migrations.engine.Migrator` of ``info`` on this backend."""
        from aragora_storage_core.migrations.engine import Migrator
        from aragora_storage_core.migrations.files import search_path

        # The registry read the migration entry points with the plugins: no second pass
        # over the installed distributions.
        found = self.registry.host.migrations if self.registry is not None else None
        return Migrator(self.database_for(info.type), info.type.value,
                        location or info.type.value, search_path(self.settings.env, found),
                        info.names(self.naming))

    def table_name(self, info: DatabaseInfo, table: str) -> str:
        """What ``info``'s table ``table`` (its consolidated name) is called here."""
        return info.names(self.naming).get(table, table)

    def remembered(self, name: str) -> tuple[str, str] | None:
        """The marker remembered in the token blacklist's database (see :mod:`.beside`)."""
        from aragora_storage_core.sql.markers import read_marker

        return read_marker(self.database_for(DatabaseType.TOKEN_BLACKLIST), name)

    def remember(self, name: str, token: str) -> bool:
        """Remember ``token`` in the token blacklist's database."""
        from aragora_storage_core.sql.markers import write_marker

        write_marker(self.database_for(DatabaseType.TOKEN_BLACKLIST), name, token)
        return True

    def migrate(self, request: MigrationRequest) -> MigrationReport:
        """Run the migrations engine on every logical database (or ``request.db``)."""
        from aragora_storage_core.migrations.requests import run_request

        return run_request(self, request)

    def backup(self, request: BackupRequest) -> BackupManifest:
        """Every store table into one SQLite file (:mod:`aragora_storage_core.backup.portable`)."""
        from aragora_storage_core.backup import portable

        return portable.backup(self, request)

    def restore(self, request: RestoreRequest) -> BackupManifest:
        """Migrate this (empty) database and load a :meth:`backup` into it."""
        from aragora_storage_core.backup import portable

        return portable.restore(self, request)

    def health(self) -> list[Check]:
        """Round-trip latency of every database that exists."""
        from aragora_storage_core.checks import Check, Level

        checks: list[Check] = []
        for label, database, _ in self.databases():
            if not database.exists():
                continue
            start = perf_counter()
            try:
                database.fetch_one("SELECT 1")
            except StorageError as error:  # a named cause (locked, key, not writable, ...)
                checks.append(Check(error.code, Level.ERROR, error.message, error.hint))
                continue
            except Exception as exc:  # reported as a finding; doctor must not crash
                checks.append(Check("storage.E030", Level.ERROR,
                                    f"{label}: cannot run a query ({type(exc).__name__})",
                                    "check the server or file, then run aragora-storage doctor"))
                continue
            ms = (perf_counter() - start) * 1000
            checks.append(Check("storage.I030", Level.INFO, f"{label}: reachable in {ms:.2f} ms",
                                data={"database": label, "latency_ms": round(ms, 3)}))
        return checks

    def close(self) -> None:
        """Close every database."""
        for _, database, _ in self.databases():
            database.close()


class ServerBackend(SQLBackend):
    """A SQL backend whose every logical database lives in one server database.

    A subclass opens ``self.database`` in its ``__init__``; the layout's tables all live
    there under their shared names (PostgreSQL, MariaDB, ...). Like every server backend it
    migrates only by ``migrate`` or ``ARAGORA_AUTO_MIGRATE=1``, never on first use.
    """

    database: SQLDatabase
    migrates_on_first_use: ClassVar[bool] = False

    def database_for(self, db_type: DatabaseType) -> SQLDatabase:
        """The one database: every logical database's tables live in it."""
        return self.database

    def databases(self) -> Iterable[tuple[str, SQLDatabase, tuple[DatabaseType, ...]]]:
        """One entry holding every logical database of the layout."""
        return [(self.database.label, self.database, tuple(info.type for info in DATABASES))]
