"""Migration status of a Supabase project through its API, and applying migrations.

Status reads ``schema_version`` through the API and compares it with the core's
migrations of the ``nomic`` database. Migrations are DDL, which the API cannot run: with
``SUPABASE_DB_URL`` set they are applied over that direct connection by the core's
migrations engine (the same bookkeeping and lock as the PostgreSQL backend); without it,
``--migrate`` stops and names the generated SQL file to run in the Supabase SQL editor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aragora_storage_core.errors import MigrationError
from aragora_storage_core.migrations.engine import Migrator
from aragora_storage_core.migrations.files import discover
from aragora_storage_core.migrations.types import (
    AppliedMigration,
    DatabaseStatus,
    MigrationAction,
    MigrationReport,
    MigrationRequest,
)
from aragora_storage_supabase.backend import TABLES
from aragora_storage_supabase.direct import direct_database
from aragora_storage_supabase.errors import TablesMissingError
from aragora_storage_supabase.schema import (
    DB,
    RELOAD_SCHEMA,
    security_statements,
    sql_path,
)

if TYPE_CHECKING:
    from aragora_storage_supabase.backend import SupabaseBackend


def applied(backend: SupabaseBackend) -> list[AppliedMigration]:
    """The ``schema_version`` rows of ``nomic``, read through the API (none if no table)."""
    project = backend.project
    query = (project.table("schema_version")
             .select("version,name,checksum,applied_at,duration_ms")
             .eq("database", DB).order("version"))
    try:
        rows = project.run(query, "migration status")
    except TablesMissingError:
        return []
    return [AppliedMigration(int(r["version"]), r["name"], r["checksum"], r["applied_at"],
                             float(r["duration_ms"])) for r in rows]


def missing_tables(backend: SupabaseBackend) -> list[str]:
    """The seed's tables the project's API does not know."""
    return [table for table in TABLES if not backend.table_exists(table)]


def status(backend: SupabaseBackend) -> DatabaseStatus:
    """Applied, pending and changed migrations, and which tables exist, via the API."""
    missing = missing_tables(backend)
    tables = (f"all {len(TABLES)} tables exist" if not missing else
              f"{len(TABLES) - len(missing)} of {len(TABLES)} tables exist, missing: "
              + ", ".join(missing))
    return DatabaseStatus.compare(DB, f"{backend.project.location}; {tables}",
                                  applied(backend), discover(DB))


def apply_direct(backend: SupabaseBackend, target: int | None = None,
                 downgrade: bool = False) -> DatabaseStatus:
    """Migrate (or downgrade to ``target``) over ``SUPABASE_DB_URL``; RLS on, API reloaded."""
    with direct_database(backend, "applying migrations") as database:
        migrator = Migrator(database, DB, backend.project.location)
        if downgrade:
            return migrator.downgrade(target or 0)
        result = migrator.migrate(target)
        if result.ran:
            with database.transaction() as tx:
                for statement in (*security_statements(("schema_version", *TABLES)),
                                  RELOAD_SCHEMA):
                    tx.execute(statement, label="supabase security")
        return result


def run(backend: SupabaseBackend, request: MigrationRequest) -> MigrationReport:
    """Answer a migration request for the project."""
    report = MigrationReport(request.action)
    if request.db not in (None, DB):
        return report
    if request.action is MigrationAction.CREATE:
        raise MigrationError("Supabase migrations are generated from the core's nomic "
                             "migrations", "create it on a SQL backend (--db nomic), then "
                             "python -m aragora_storage_supabase.schema")
    current = status(backend)
    if current.changed and request.action in (MigrationAction.MIGRATE,
                                              MigrationAction.DOWNGRADE):
        current.check_unchanged()
    if request.action is MigrationAction.REPAIR:
        with direct_database(backend, "recording migration checksums") as database:
            report.databases.append(Migrator(database, DB, backend.project.location).repair())
    elif request.action is MigrationAction.DOWNGRADE:
        report.databases.append(apply_direct(backend, request.target, downgrade=True))
    elif request.action is MigrationAction.MIGRATE:
        wanted = [m for m in current.pending
                  if request.target is None or m.version <= request.target]
        if wanted and not backend.direct_url:
            files = " then ".join(str(sql_path(m)) for m in wanted)
            raise MigrationError(
                f"{len(wanted)} migration(s) pending on the {backend.project.location}; "
                f"run in the Supabase SQL editor: {files}",
                "or export SUPABASE_DB_URL=<direct connection string> and migrate again")
        report.databases.append(apply_direct(backend, request.target) if wanted else current)
    else:
        report.databases.append(current)
    return report
