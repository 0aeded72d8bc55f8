"""The plugin API: everything a plugin may import from aragora-storage, in one place.

A plugin (bundled or third-party) imports these names from here, or from the module
each one lives in, and nothing else of the core (``tests/plugins/test_plugin_api.py``
holds ``plugins/`` and ``examples/`` to it). Names load on first use, so importing this
module costs nothing. :data:`VERSION` is this API's version: a plugin declares the
range it was written for as ``PLUGIN_API = ">=1.0,<2"`` in its module, and a plugin
whose range excludes this version is reported and not loaded as a backend.
Changes that remove or change a name raise the major version.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import aragora_storage_core.plugin_versions

#: The version of this plugin API (defined beside the range check, which needs no exports).
VERSION = aragora_storage_core.plugin_versions.API_VERSION

#: Module -> the names a plugin may import from it, by purpose.
EXPORTS: dict[str, tuple[str, ...]] = {
    # Every plugin: the hook marker, the backend base, what connect receives, findings, errors
    "aragora_storage_core.hookspecs": ("hookimpl",),
    "aragora_storage_core.backend": ("Backend", "SQLBackend", "ServerBackend"),
    "aragora_storage_core.settings": ("Settings", "parse_flag"),
    "aragora_storage_core.url": ("MASK", "StorageURL", "parse_url"),
    "aragora_storage_core.checks": ("Check", "Level"),
    "aragora_storage_core.registry": ("Registry",),
    "aragora_storage_core.stores.protocols": ("StoreKind",),
    # Dataclasses without importing ``dataclasses`` (the core's records; a subclass of one)
    "aragora_storage_core.records": ("dataclass", "field"),
    "aragora_storage_core.errors": (
        "AsyncNotSupportedError", "BackendUnavailableError", "BackupError",
        "ConfigurationError", "DuplicateError",
        "EncryptedDatabaseError", "EncryptionError", "EncryptionUnavailableError",
        "DiskFullError", "InvalidURLError", "LockedError", "MigrationError", "NotFoundError",
        "NotWritableError", "PlainDatabaseError", "StorageError", "TransactionError",
        "WrongKeyError",
    ),
    # The operations' requests and results (migrate, backup, restore, encrypt)
    "aragora_storage_core.migrations.types": (
        "AppliedMigration", "DatabaseStatus", "MigrationAction", "MigrationFile",
        "MigrationReport", "MigrationRequest",
    ),
    "aragora_storage_core.backup.types": (
        "BackupFile", "BackupManifest", "BackupRequest", "RestoreRequest",
    ),
    "aragora_storage_core.backup.manifest": (
        "INTEGRITY_CHECK", "describe_file", "read_manifest", "write_manifest",
    ),
    "aragora_storage_core.backup.staging": ("copy_checked",),
    "aragora_storage_core.encryption.types": (
        "EncryptionAction", "EncryptionRequest", "EncryptionStatus",
    ),
    "aragora_storage_core.progress": ("Progress",),
    "aragora_storage_core.files": ("FILE_MODE", "ensure_private_dir", "fsync_path"),
    # SQL backends: the database interface, the dialect, migrations
    "aragora_storage_core.sql.database": ("Cursor", "Params", "Row", "SQLDatabase", "Transaction"),
    "aragora_storage_core.sql.dialect": ("Dialect", "UpdateReturning", "check_identifier"),
    "aragora_storage_core.sql.ddl": ("key_columns", "render", "write"),
    "aragora_storage_core.sql.slowlog": ("report",),
    "aragora_storage_core.sql": ("ddl", "slowlog"),
    "aragora_storage_core.columns": ("ColumnCipher", "PlainColumns", "column_cipher"),
    "aragora_storage_core.consistency": ("primary_only", "primary_reads"),
    "aragora_storage_core.migrations.engine": (
        "Migrator", "SCHEMA_VERSION_DDL", "migration_keys", "upgrade_statements",
    ),
    "aragora_storage_core.migrations.files": ("ROOT", "discover", "rename_tables"),
    # Layout, records, SQL stores' row converters (for backends with stores of their own)
    "aragora_storage_core.layout": (
        "ConsolidatedDatabase", "DATABASES", "DATABASE_INFO", "DatabaseMode", "DatabaseType",
        "Naming", "TABLES", "files_on_disk", "get_db_path", "naming_for",
    ),
    "aragora_storage_core.models": (
        "AgentMetric", "AuditEntry", "DebateArtifact", "NomicCycle", "Organization", "ShareLink",
        "StreamEvent", "UsageEvent", "User", "Webhook", "from_iso", "to_iso", "utcnow_iso",
    ),
    "aragora_storage_core.sql.stores.base": ("dumps", "loads"),
    "aragora_storage_core.sql.stores.accounts": (
        "ORG_COLUMNS", "SQLOrganizationStore", "SQLUserStore", "USER_COLUMNS", "org_from_row",
        "org_to_row", "user_from_row", "user_to_row",
    ),
    "aragora_storage_core.sql.stores.activity": (
        "AUDIT_COLUMNS", "USAGE_COLUMNS", "audit_from_row", "audit_row", "cutoff_iso",
        "usage_row",
    ),
    "aragora_storage_core.sql.stores.links": (
        "SHARE_COLUMNS", "SQLWebhookStore", "WEBHOOK_COLUMNS", "share_from_row", "share_to_row",
        "webhook_from_row", "webhook_to_row",
    ),
    "aragora_storage_core.sql.stores.nomic": (
        "ARTIFACT_COLUMNS", "CYCLE_COLUMNS", "EVENT_COLUMNS", "METRIC_COLUMNS",
        "artifact_from_row", "cycle_from_row", "event_row", "metric_row",
    ),
    # SQLite files (the bundled SQLite plugin and others keeping SQLite files)
    "aragora_storage_core.sqlite.database": ("SQLiteDatabase",),
    "aragora_storage_core.sqlite.connection": ("connect_readonly",),
    "aragora_storage_core.sqlite.inspect": ("in_wal_mode", "leftover_wal_bytes"),
    "aragora_storage_core.causes": ("disk_full", "no_space"),
    "aragora_storage_core.backup.sqlite": (
        "backup_file", "quiesce", "replace_database", "schema_versions",
    ),
    "aragora_storage_core.encryption.sqlcipher": (
        "DatabaseKey", "is_encrypted_file", "require_sqlite_key", "sqlite_key_for",
    ),
    "aragora_storage_core.encryption.convert": ("decrypt_file", "encrypt_file", "rekey_file"),
    "aragora_storage_core.encryption.checks": ("sqlite_file_checks",),
    # The async API (docs/async.md): loaded only when a backend builds an async store
    "aragora_storage_core.aio.proxy": ("AsyncStore", "Runner"),
    "aragora_storage_core.aio.bridge": ("WriteTracker", "await_", "run", "writes"),
    "aragora_storage_core.aio.worker": ("FileWorker",),
    "aragora_storage_core.aio.outcome": ("WriteOutcome", "mark"),
    "aragora_storage_core.aio.per_loop": ("PerLoop",),
    "aragora_storage_core.aio.twin_rules": ("SQL", "Vocabulary"),
}

if TYPE_CHECKING:
    from aragora_storage_core.aio.bridge import (
        WriteTracker as WriteTracker,
    )
    from aragora_storage_core.aio.bridge import (
        await_ as await_,
    )
    from aragora_storage_core.aio.bridge import (
        run as run,
    )
    from aragora_storage_core.aio.bridge import (
        writes as writes,
    )
    from aragora_storage_core.aio.outcome import (
        WriteOutcome as WriteOutcome,
    )
    from aragora_storage_core.aio.outcome import (
        mark as mark,
    )
    from aragora_storage_core.aio.per_loop import (
        PerLoop as PerLoop,
    )
    from aragora_storage_core.aio.proxy import (
        AsyncStore as AsyncStore,
    )
    from aragora_storage_core.aio.proxy import (
        Runner as Runner,
    )
    from aragora_storage_core.aio.twin_rules import (
        SQL as SQL,
    )
    from aragora_storage_core.aio.twin_rules import (
        Vocabulary as Vocabulary,
    )
    from aragora_storage_core.aio.worker import (
        FileWorker as FileWorker,
    )
    from aragora_storage_core.backend import (
        Backend as Backend,
    )
    from aragora_storage_core.backend import (
        ServerBackend as ServerBackend,
    )
    from aragora_storage_core.backend import (
        SQLBackend as SQLBackend,
    )
    from aragora_storage_core.backup.manifest import (
        INTEGRITY_CHECK as INTEGRITY_CHECK,
    )
    from aragora_storage_core.backup.manifest import (
        describe_file as describe_file,
    )
    from aragora_storage_core.backup.manifest import (
        read_manifest as read_manifest,
    )
    from aragora_storage_core.backup.manifest import (
        write_manifest as write_manifest,
    )
    from aragora_storage_core.backup.sqlite import (
        backup_file as backup_file,
    )
    from aragora_storage_core.backup.sqlite import (
        quiesce as quiesce,
    )
    from aragora_storage_core.backup.sqlite import (
        replace_database as replace_database,
    )
    from aragora_storage_core.backup.sqlite import (
        schema_versions as schema_versions,
    )
    from aragora_storage_core.backup.staging import (
        copy_checked as copy_checked,
    )
    from aragora_storage_core.backup.types import (
        BackupFile as BackupFile,
    )
    from aragora_storage_core.backup.types import (
        BackupManifest as BackupManifest,
    )
    from aragora_storage_core.backup.types import (
        BackupRequest as BackupRequest,
    )
    from aragora_storage_core.backup.types import (
        RestoreRequest as RestoreRequest,
    )
    from aragora_storage_core.causes import (
        disk_full as disk_full,
    )
    from aragora_storage_core.causes import (
        no_space as no_space,
    )
    from aragora_storage_core.checks import (
        Check as Check,
    )
    from aragora_storage_core.checks import (
        Level as Level,
    )
    from aragora_storage_core.columns import (
        ColumnCipher as ColumnCipher,
    )
    from aragora_storage_core.columns import (
        PlainColumns as PlainColumns,
    )
    from aragora_storage_core.columns import (
        column_cipher as column_cipher,
    )
    from aragora_storage_core.consistency import (
        primary_only as primary_only,
    )
    from aragora_storage_core.consistency import (
        primary_reads as primary_reads,
    )
    from aragora_storage_core.encryption.checks import (
        sqlite_file_checks as sqlite_file_checks,
    )
    from aragora_storage_core.encryption.convert import (
        decrypt_file as decrypt_file,
    )
    from aragora_storage_core.encryption.convert import (
        encrypt_file as encrypt_file,
    )
    from aragora_storage_core.encryption.convert import (
        rekey_file as rekey_file,
    )
    from aragora_storage_core.encryption.sqlcipher import (
        DatabaseKey as DatabaseKey,
    )
    from aragora_storage_core.encryption.sqlcipher import (
        is_encrypted_file as is_encrypted_file,
    )
    from aragora_storage_core.encryption.sqlcipher import (
        require_sqlite_key as require_sqlite_key,
    )
    from aragora_storage_core.encryption.sqlcipher import (
        sqlite_key_for as sqlite_key_for,
    )
    from aragora_storage_core.encryption.types import (
        EncryptionAction as EncryptionAction,
    )
    from aragora_storage_core.encryption.types import (
        EncryptionRequest as EncryptionRequest,
    )
    from aragora_storage_core.encryption.types import (
        EncryptionStatus as EncryptionStatus,
    )
    from aragora_storage_core.errors import (
        AsyncNotSupportedError as AsyncNotSupportedError,
    )
    from aragora_storage_core.errors import (
        BackendUnavailableError as BackendUnavailableError,
    )
    from aragora_storage_core.errors import (
        BackupError as BackupError,
    )
    from aragora_storage_core.errors import (
        ConfigurationError as ConfigurationError,
    )
    from aragora_storage_core.errors import (
        DiskFullError as DiskFullError,
    )
    from aragora_storage_core.errors import (
        DuplicateError as DuplicateError,
    )
    from aragora_storage_core.errors import (
        EncryptedDatabaseError as EncryptedDatabaseError,
    )
    from aragora_storage_core.errors import (
        EncryptionError as EncryptionError,
    )
    from aragora_storage_core.errors import (
        EncryptionUnavailableError as EncryptionUnavailableError,
    )
    from aragora_storage_core.errors import (
        InvalidURLError as InvalidURLError,
    )
    from aragora_storage_core.errors import (
        LockedError as LockedError,
    )
    from aragora_storage_core.errors import (
        MigrationError as MigrationError,
    )
    from aragora_storage_core.errors import (
        NotFoundError as NotFoundError,
    )
    from aragora_storage_core.errors import (
        NotWritableError as NotWritableError,
    )
    from aragora_storage_core.errors import (
        PlainDatabaseError as PlainDatabaseError,
    )
    from aragora_storage_core.errors import (
        StorageError as StorageError,
    )
    from aragora_storage_core.errors import (
        TransactionError as TransactionError,
    )
    from aragora_storage_core.errors import (
        WrongKeyError as WrongKeyError,
    )
    from aragora_storage_core.files import (
        FILE_MODE as FILE_MODE,
    )
    from aragora_storage_core.files import (
        ensure_private_dir as ensure_private_dir,
    )
    from aragora_storage_core.files import (
        fsync_path as fsync_path,
    )
    from aragora_storage_core.hookspecs import (
        hookimpl as hookimpl,
    )
    from aragora_storage_core.layout import (
        DATABASE_INFO as DATABASE_INFO,
    )
    from aragora_storage_core.layout import (
        DATABASES as DATABASES,
    )
    from aragora_storage_core.layout import (
        TABLES as TABLES,
    )
    from aragora_storage_core.layout import (
        ConsolidatedDatabase as ConsolidatedDatabase,
    )
    from aragora_storage_core.layout import (
        DatabaseMode as DatabaseMode,
    )
    from aragora_storage_core.layout import (
        DatabaseType as DatabaseType,
    )
    from aragora_storage_core.layout import (
        Naming as Naming,
    )
    from aragora_storage_core.layout import (
        files_on_disk as files_on_disk,
    )
    from aragora_storage_core.layout import (
        get_db_path as get_db_path,
    )
    from aragora_storage_core.layout import (
        naming_for as naming_for,
    )
    from aragora_storage_core.migrations.engine import (
        SCHEMA_VERSION_DDL as SCHEMA_VERSION_DDL,
    )
    from aragora_storage_core.migrations.engine import (
        Migrator as Migrator,
    )
    from aragora_storage_core.migrations.engine import (
        migration_keys as migration_keys,
    )
    from aragora_storage_core.migrations.engine import (
        upgrade_statements as upgrade_statements,
    )
    from aragora_storage_core.migrations.files import (
        ROOT as ROOT,
    )
    from aragora_storage_core.migrations.files import (
        discover as discover,
    )
    from aragora_storage_core.migrations.files import (
        rename_tables as rename_tables,
    )
    from aragora_storage_core.migrations.types import (
        AppliedMigration as AppliedMigration,
    )
    from aragora_storage_core.migrations.types import (
        DatabaseStatus as DatabaseStatus,
    )
    from aragora_storage_core.migrations.types import (
        MigrationAction as MigrationAction,
    )
    from aragora_storage_core.migrations.types import (
        MigrationFile as MigrationFile,
    )
    from aragora_storage_core.migrations.types import (
        MigrationReport as MigrationReport,
    )
    from aragora_storage_core.migrations.types import (
        MigrationRequest as MigrationRequest,
    )
    from aragora_storage_core.models import (
        AgentMetric as AgentMetric,
    )
    from aragora_storage_core.models import (
        AuditEntry as AuditEntry,
    )
    from aragora_storage_core.models import (
        DebateArtifact as DebateArtifact,
    )
    from aragora_storage_core.models import (
        NomicCycle as NomicCycle,
    )
    from aragora_storage_core.models import (
        Organization as Organization,
    )
    from aragora_storage_core.models import (
        ShareLink as ShareLink,
    )
    from aragora_storage_core.models import (
        StreamEvent as StreamEvent,
    )
    from aragora_storage_core.models import (
        UsageEvent as UsageEvent,
    )
    from aragora_storage_core.models import (
        User as User,
    )
    from aragora_storage_core.models import (
        Webhook as Webhook,
    )
    from aragora_storage_core.models import (
        from_iso as from_iso,
    )
    from aragora_storage_core.models import (
        to_iso as to_iso,
    )
    from aragora_storage_core.models import (
        utcnow_iso as utcnow_iso,
    )
    from aragora_storage_core.progress import (
        Progress as Progress,
    )
    from aragora_storage_core.records import (
        dataclass as dataclass,
    )
    from aragora_storage_core.records import (
        field as field,
    )
    from aragora_storage_core.registry import (
        Registry as Registry,
    )
    from aragora_storage_core.settings import (
        Settings as Settings,
    )
    from aragora_storage_core.settings import (
        parse_flag as parse_flag,
    )
    from aragora_storage_core.sql import (
        ddl as ddl,
    )
    from aragora_storage_core.sql import (
        slowlog as slowlog,
    )
    from aragora_storage_core.sql.database import (
        Cursor as Cursor,
    )
    from aragora_storage_core.sql.database import (
        Params as Params,
    )
    from aragora_storage_core.sql.database import (
        Row as Row,
    )
    from aragora_storage_core.sql.database import (
        SQLDatabase as SQLDatabase,
    )
    from aragora_storage_core.sql.database import (
        Transaction as Transaction,
    )
    from aragora_storage_core.sql.ddl import (
        key_columns as key_columns,
    )
    from aragora_storage_core.sql.ddl import (
        render as render,
    )
    from aragora_storage_core.sql.ddl import (
        write as write,
    )
    from aragora_storage_core.sql.dialect import (
        Dialect as Dialect,
    )
    from aragora_storage_core.sql.dialect import (
        UpdateReturning as UpdateReturning,
    )
    from aragora_storage_core.sql.dialect import (
        check_identifier as check_identifier,
    )
    from aragora_storage_core.sql.slowlog import (
        report as report,
    )
    from aragora_storage_core.sql.stores.accounts import (
        ORG_COLUMNS as ORG_COLUMNS,
    )
    from aragora_storage_core.sql.stores.accounts import (
        USER_COLUMNS as USER_COLUMNS,
    )
    from aragora_storage_core.sql.stores.accounts import (
        SQLOrganizationStore as SQLOrganizationStore,
    )
    from aragora_storage_core.sql.stores.accounts import (
        SQLUserStore as SQLUserStore,
    )
    from aragora_storage_core.sql.stores.accounts import (
        org_from_row as org_from_row,
    )
    from aragora_storage_core.sql.stores.accounts import (
        org_to_row as org_to_row,
    )
    from aragora_storage_core.sql.stores.accounts import (
        user_from_row as user_from_row,
    )
    from aragora_storage_core.sql.stores.accounts import (
        user_to_row as user_to_row,
    )
    from aragora_storage_core.sql.stores.activity import (
        AUDIT_COLUMNS as AUDIT_COLUMNS,
    )
    from aragora_storage_core.sql.stores.activity import (
        USAGE_COLUMNS as USAGE_COLUMNS,
    )
    from aragora_storage_core.sql.stores.activity import (
        audit_from_row as audit_from_row,
    )
    from aragora_storage_core.sql.stores.activity import (
        audit_row as audit_row,
    )
    from aragora_storage_core.sql.stores.activity import (
        cutoff_iso as cutoff_iso,
    )
    from aragora_storage_core.sql.stores.activity import (
        usage_row as usage_row,
    )
    from aragora_storage_core.sql.stores.base import (
        dumps as dumps,
    )
    from aragora_storage_core.sql.stores.base import (
        loads as loads,
    )
    from aragora_storage_core.sql.stores.links import (
        SHARE_COLUMNS as SHARE_COLUMNS,
    )
    from aragora_storage_core.sql.stores.links import (
        WEBHOOK_COLUMNS as WEBHOOK_COLUMNS,
    )
    from aragora_storage_core.sql.stores.links import (
        SQLWebhookStore as SQLWebhookStore,
    )
    from aragora_storage_core.sql.stores.links import (
        share_from_row as share_from_row,
    )
    from aragora_storage_core.sql.stores.links import (
        share_to_row as share_to_row,
    )
    from aragora_storage_core.sql.stores.links import (
        webhook_from_row as webhook_from_row,
    )
    from aragora_storage_core.sql.stores.links import (
        webhook_to_row as webhook_to_row,
    )
    from aragora_storage_core.sql.stores.nomic import (
        ARTIFACT_COLUMNS as ARTIFACT_COLUMNS,
    )
    from aragora_storage_core.sql.stores.nomic import (
        CYCLE_COLUMNS as CYCLE_COLUMNS,
    )
    from aragora_storage_core.sql.stores.nomic import (
        EVENT_COLUMNS as EVENT_COLUMNS,
    )
    from aragora_storage_core.sql.stores.nomic import (
        METRIC_COLUMNS as METRIC_COLUMNS,
    )
    from aragora_storage_core.sql.stores.nomic import (
        artifact_from_row as artifact_from_row,
    )
    from aragora_storage_core.sql.stores.nomic import (
        cycle_from_row as cycle_from_row,
    )
    from aragora_storage_core.sql.stores.nomic import (
        event_row as event_row,
    )
    from aragora_storage_core.sql.stores.nomic import (
        metric_row as metric_row,
    )
    from aragora_storage_core.sqlite.connection import (
        connect_readonly as connect_readonly,
    )
    from aragora_storage_core.sqlite.database import (
        SQLiteDatabase as SQLiteDatabase,
    )
    from aragora_storage_core.sqlite.inspect import (
        in_wal_mode as in_wal_mode,
    )
    from aragora_storage_core.sqlite.inspect import (
        leftover_wal_bytes as leftover_wal_bytes,
    )
    from aragora_storage_core.stores.protocols import (
        StoreKind as StoreKind,
    )
    from aragora_storage_core.url import (
        MASK as MASK,
    )
    from aragora_storage_core.url import (
        StorageURL as StorageURL,
    )
    from aragora_storage_core.url import (
        parse_url as parse_url,
    )

_HOME = {name: module for module, names in EXPORTS.items() for name in names}
__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"{name!r} is not part of the aragora-storage plugin API")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
