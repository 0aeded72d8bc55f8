"""The Supabase backend's hook implementations: connect, migrate, backup, restore, health."""

from __future__ import annotations

from aragora_storage_core import hookimpl
from aragora_storage_core.backend import Backend
from aragora_storage_core.backup.types import BackupManifest, BackupRequest, RestoreRequest
from aragora_storage_core.checks import Check
from aragora_storage_core.migrations.types import MigrationReport, MigrationRequest
from aragora_storage_core.settings import Settings
from aragora_storage_core.url import StorageURL
from aragora_storage_supabase.backend import SupabaseBackend


@hookimpl
def storage_connect(url: StorageURL, settings: Settings) -> Backend | None:
    """Open ``supabase://`` URLs (made by selection from SUPABASE_URL and SUPABASE_KEY)."""
    if url.scheme != "supabase":
        return None
    return SupabaseBackend(url, settings)


@hookimpl
def storage_migrate(backend: Backend, request: MigrationRequest) -> MigrationReport | None:
    """Status through the API; apply over SUPABASE_DB_URL or name the SQL editor file."""
    if not isinstance(backend, SupabaseBackend):
        return None
    from aragora_storage_supabase import migrate

    return migrate.run(backend, request)


@hookimpl
def storage_backup(backend: Backend, request: BackupRequest) -> BackupManifest | None:
    """Dump every table through the API into ``request.directory``."""
    if not isinstance(backend, SupabaseBackend):
        return None
    from aragora_storage_supabase import backup

    return backup.backup(backend, request)


@hookimpl
def storage_restore(backend: Backend, request: RestoreRequest) -> BackupManifest | None:
    """Load a backup's rows into the project's empty, migrated tables."""
    if not isinstance(backend, SupabaseBackend):
        return None
    from aragora_storage_supabase import backup

    return backup.restore(backend, request)


@hookimpl
def storage_health(backend: Backend) -> list[Check]:
    """HTTPS, API latency, which tables exist, pending migrations."""
    if not isinstance(backend, SupabaseBackend):
        return []
    from aragora_storage_supabase import health

    return health.health(backend)
