"""Migration status of a Supabase project through its API, and applying migrations.

Status reads ``schema_version`` through the API and compares it with the core's
migrations of the ``nomic`` database. Migrations are DDL, which the API cannot run: with
``SUPABASE_DB_URL`` set they are applied over that direct connection by the core's
migrations engine (the same bookkeeping and lock as the PostgreSQL backend); without it,
``--migrate`` stops and names the generated SQL file to run in the Supabase SQL editor.
"""

from __future__ import annotations

from collections.abc import Sequence
from time import monotonic, sleep
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
    POLICY,
    RELOAD_SCHEMA,
    security_statements,
    sql_path,
)

if TYPE_CHECKING:
    from aragora_storage_core.sql.database import SQLDatabase
    from aragora_storage_supabase.backend import SupabaseBackend

#: Seconds a migration waits for the API to serve the new schema.
SCHEMA_RELOAD_WAIT = 30.0


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


def missing_security(database: SQLDatabase, tables: Sequence[str]) -> list[str]:
    """Tables of ``tables`` that exist but lack the service role's grants, row level
    security or its policy (read over the direct connection)."""
    rows = database.fetch_all(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname = ANY(%s) AND NOT ("
        " c.relrowsecurity AND has_table_privilege('service_role', c.oid,"
        " 'SELECT,INSERT,UPDATE,DELETE') AND EXISTS (SELECT 1 FROM pg_policy p"
        " WHERE p.polrelid = c.oid AND p.polname = %s)) ORDER BY 1",
        (list(tables), POLICY), "supabase security check")
    return [str(row[0]) for row in rows]


def served_columns(database: SQLDatabase, tables: Sequence[str]) -> dict[str, list[str]]:
    """``{table: columns}`` of the existing ``tables``, from the catalog."""
    columns: dict[str, list[str]] = {}
    for table, column in database.fetch_all(
            "SELECT table_name, column_name FROM information_schema.columns WHERE"
            " table_schema = 'public' AND table_name = ANY(%s) ORDER BY ordinal_position",
            (list(tables),), "supabase columns"):
        columns.setdefault(str(table), []).append(str(column))
    return columns


def wait_until_served(backend: SupabaseBackend, columns: dict[str, list[str]],
                      within: float = SCHEMA_RELOAD_WAIT) -> None:
    """Return once the API serves every table and column of ``columns``.

    PostgREST reloads its schema cache asynchronously after ``NOTIFY pgrst``; until then
    it answers a write to a new table with 404 and to a new column with ``PGRST204``.
    Polls the API's OpenAPI root (its schema cache) for at most ``within`` s.
    """
    deadline = monotonic() + within
    while True:
        served = backend.project.served_schema()
        pending = [t for t, wanted in columns.items() if not set(wanted) <= served.get(t, set())]
        if not pending:
            return
        if monotonic() >= deadline:
            raise MigrationError(
                f"the migrations were applied, but the API of the {backend.project.location}"
                f" did not serve {', '.join(sorted(pending))} within {within:g}s",
                f"run {RELOAD_SCHEMA} in the SQL editor, or restart the project's API")
        sleep(0.05)


def apply_direct(backend: SupabaseBackend, target: int | None = None,
                 downgrade: bool = False) -> DatabaseStatus:
    """Migrate (or downgrade to ``target``) over ``SUPABASE_DB_URL``.

    Afterwards the service role has its grants, row level security is on with the
    service role's policy, the API has reloaded its schema and serves every table.
    """
    tables = ("schema_version", *TABLES)
    with direct_database(backend, "applying migrations") as database:
        migrator = Migrator(database, DB, backend.project.location)
        result = migrator.downgrade(target or 0) if downgrade else migrator.migrate(target)
        unsecured = missing_security(database, tables)
        if not (result.ran or unsecured):
            return result
        with database.transaction() as tx:
            for statement in (*security_statements(tuple(unsecured)), RELOAD_SCHEMA):
                tx.execute(statement, label="supabase security")
        wait_until_served(backend, served_columns(database, tables))
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
        repairable = wanted or backend.direct_url  # grants and RLS are checked too
        report.databases.append(apply_direct(backend, request.target) if repairable
                                else current)
    else:
        report.databases.append(current)
    return report
