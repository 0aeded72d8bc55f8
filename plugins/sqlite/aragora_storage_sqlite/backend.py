"""SQLite files laid out as the data layout says: legacy, consolidated, or one file."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aragora_storage_core.backend import SQLBackend
from aragora_storage_core.backup.types import BackupManifest, BackupRequest, RestoreRequest
from aragora_storage_core.checks import Check
from aragora_storage_core.columns import ColumnCipher
from aragora_storage_core.encryption.sqlcipher import sqlite_key_for
from aragora_storage_core.encryption.types import EncryptionRequest, EncryptionStatus
from aragora_storage_core.errors import ConfigurationError
from aragora_storage_core.layout import (
    DATABASES,
    DatabaseMode,
    DatabaseType,
    Naming,
    get_db_path,
    naming_for,
)
from aragora_storage_core.settings import Settings
from aragora_storage_core.sqlite.database import SQLiteDatabase
from aragora_storage_core.stores.protocols import StoreKind
from aragora_storage_core.url import StorageURL

if TYPE_CHECKING:
    from aragora_storage_core.aio.proxy import AsyncStore
    from aragora_storage_core.aio.worker import FileWorker

SINGLE_FILE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
#: The only query option of a sqlite URL.
URL_OPTIONS = frozenset({"mode", "layout"})
_KEY_HINT = ("a SQLCipher key never goes in the URL: export ARAGORA_SQLITE_KEY (or "
             "ARAGORA_SQLITE_KEY_FILE) and ARAGORA_SQLITE_ENCRYPTION=1")
KEY_HINTS = {"key": _KEY_HINT, "hexkey": _KEY_HINT, "password": _KEY_HINT}


class SQLiteBackend(SQLBackend):
    """SQLite backend.

    ``sqlite:///DIR`` (or ``sqlite:///DIR?mode=consolidated``) keeps the data layout
    under ``DIR``; ``sqlite:///file.db``, ``sqlite:///:memory:`` or ``?layout=file`` (any
    name) keeps every table in one file.
    """

    name = "sqlite"
    restore_copies_checked = True

    def __init__(self, url: StorageURL, settings: Settings,
                 cipher: ColumnCipher | None = None) -> None:
        super().__init__(url, settings, cipher)
        url.reject_unknown_options(URL_OPTIONS, "sqlite URL", KEY_HINTS)
        target = url.database or str(settings.data_dir)
        self.single_file = (target == ":memory:" or target.endswith(SINGLE_FILE_SUFFIXES)
                            or url.params.get("layout") == "file")
        self.location = Path(target)
        mode = url.params.get("mode") or settings.db_mode or DatabaseMode.LEGACY.value
        try:
            self.mode = DatabaseMode(mode)
        except ValueError:
            raise ConfigurationError(
                "mode in a sqlite URL must be 'legacy' or 'consolidated'",
                "use sqlite:///DIR?mode=legacy or ?mode=consolidated",
            ) from None
        self.naming = Naming.SHARED if self.single_file else naming_for(self.mode)
        self.key = sqlite_key_for(settings)
        self._databases: dict[str, SQLiteDatabase] = {}
        self._workers: dict[str, FileWorker] = {}
        self._lock = threading.Lock()

    def path_for(self, db_type: DatabaseType) -> Path:
        """The file holding ``db_type``."""
        if self.single_file:
            return self.location
        return get_db_path(db_type, self.location, self.mode, self.settings.env)

    def database_for(self, db_type: DatabaseType) -> SQLiteDatabase:
        """The SQLite database holding ``db_type`` (opened lazily, shared)."""
        key = str(self.path_for(db_type))
        database = self._databases.get(key)
        if database is None:
            with self._lock:
                database = self._databases.get(key)
                if database is None:
                    database = SQLiteDatabase(key, timeout=self.settings.db_timeout,
                                              slow_query_ms=self.settings.slow_query_ms,
                                              key=self.key,
                                              read_only=self.settings.read_only)
                    self._databases[key] = database
        return database

    def make_async_store(self, kind: StoreKind, store: Any) -> AsyncStore:
        """The async twin of ``store``: its calls run on its file's own thread."""
        from aragora_storage_core.aio.proxy import AsyncStore

        database: SQLiteDatabase = store.database
        with self._lock:
            worker = self._workers.get(database.path)
            if worker is None:
                from aragora_storage_core.aio.worker import FileWorker

                worker = self._workers[database.path] = FileWorker(
                    database.label, database.connection)
        return AsyncStore(store, kind, worker.run)

    def close(self) -> None:
        """Stop the async threads (after their queued calls), then close every file."""
        with self._lock:
            workers = list(self._workers.values())
            self._workers.clear()
        for worker in workers:
            worker.close()
        super().close()

    def databases(self) -> Iterable[tuple[str, SQLiteDatabase, tuple[DatabaseType, ...]]]:
        """Every file of the layout with the logical databases it holds."""
        grouped: dict[str, list[DatabaseType]] = {}
        for info in DATABASES:
            grouped.setdefault(str(self.path_for(info.type)), []).append(info.type)
        return [
            (Path(path).name, self.database_for(types[0]), tuple(types))
            for path, types in grouped.items()
        ]

    def describe(self) -> dict[str, Any]:
        """Layout facts for ``doctor``."""
        facts = super().describe()
        facts.update(
            layout="single file" if self.single_file else self.mode.value,
            location=str(self.location),
        )
        return facts

    def backup(self, request: BackupRequest) -> BackupManifest:
        """Copy every existing file of the layout with SQLite's online backup API."""
        from aragora_storage_sqlite import backup as file_backup  # operations load on use

        return file_backup.backup(self, request)

    def restore(self, request: RestoreRequest) -> BackupManifest:
        """Stage each backup file beside its live file, then rename them into place."""
        from aragora_storage_sqlite import restore as file_restore

        return file_restore.restore(self, request)

    def encrypt(self, request: EncryptionRequest) -> EncryptionStatus:
        """Report or change SQLCipher encryption of every file (an offline operation)."""
        from aragora_storage_sqlite import encrypt as file_encryption

        return file_encryption.encrypt(self, request)

    def health(self) -> list[Check]:
        """Latency, file permissions, integrity, journal mode, writability, encryption."""
        from aragora_storage_sqlite import encrypt as file_encryption
        from aragora_storage_sqlite import health as file_checks

        return [*super().health(), *file_checks.layout_health(self),
                *file_checks.file_health(self),
                *file_encryption.encryption_health(self)]
