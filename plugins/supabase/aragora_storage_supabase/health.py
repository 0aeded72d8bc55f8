"""Health findings about a Supabase project: transport, reachability, tables, migrations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aragora_storage_core.checks import Check, Level
from aragora_storage_core.errors import StorageError
from aragora_storage_supabase.backend import TABLES
from aragora_storage_supabase.migrate import missing_tables

if TYPE_CHECKING:
    from aragora_storage_supabase.backend import SupabaseBackend


def transport_check(backend: SupabaseBackend) -> Check:
    """Whether the API is reached over HTTPS (plain http is accepted only for localhost)."""
    project = backend.project
    if project.encrypted:
        return Check("storage.I093", Level.INFO, f"{project.location}: HTTPS in use")
    return Check("storage.W093", Level.WARNING,
                 f"{project.location}: plain http:// (unencrypted; a local server only)",
                 "use the https:// project URL for any real project")


def key_check(backend: SupabaseBackend) -> list[Check]:
    """A warning when ``SUPABASE_KEY`` is the public anon key, which RLS keeps out."""
    if backend.project.role != "anon":
        return []
    return [Check("storage.W095", Level.WARNING,
                  "SUPABASE_KEY is the project's public anon (publishable) key: row level "
                  "security hides the tables from it, so reads come back empty and writes fail",
                  "use the service_role (secret) key on servers: Dashboard > Settings > API")]


def health(backend: SupabaseBackend) -> list[Check]:
    """Every finding about ``backend``.

    Pending and changed migrations are reported by ``doctor`` for every backend (the core
    asks ``storage_migrate`` for their status), so they are not repeated here.
    """
    project = backend.project
    checks = [transport_check(backend), *key_check(backend)]
    try:
        latency_ms = backend.probe()
        missing = missing_tables(backend)
    except StorageError as error:
        return [*checks, Check("storage.E090", Level.ERROR, error.message, error.hint)]
    checks.append(Check("storage.I090", Level.INFO,
                        f"{project.location}: API answered in {latency_ms:.2f} ms",
                        data={"latency_ms": round(latency_ms, 3)}))
    if missing:
        checks.append(Check("storage.W091", Level.WARNING,
                            f"{project.location} lacks the tables {', '.join(missing)}",
                            "aragora-storage migrate --migrate (see docs/supabase.md)"))
    else:
        checks.append(Check("storage.I091", Level.INFO,
                            f"{project.location}: all {len(TABLES)} tables exist"))
    return checks
