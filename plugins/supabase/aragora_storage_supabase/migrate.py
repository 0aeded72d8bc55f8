"""Migration status of a Supabase project through its API, and applying migrations.

Status reads ``schema_version`` through the API and compares it with the core's
migrations of each logical database the backend serves (``users``, ``token_blacklist``,
``nomic``). Migrations are DDL, which the API cannot run: with
``SUPABASE_DB_URL`` set they are applied over that direct connection by the core's
migrations engine (the same bookkeeping and lock as the PostgreSQL backend); without it,
``--migrate`` stops and names the generated SQL file to run in the Supabase SQL editor.
"""

from __future__ import annotations

from collections.abc import Sequence
from time import monotonic, sleep
from typing import TYPE_CHECKING

from aragora_storage_core.errors import MigrationError
from aragora_storage_core.layout import DATABASE_INFO, DatabaseType
from aragora_storage_core.migrations.engine import Migrator
from aragora_storage_core.migrations.files import discover
from aragora_storage_core.migrations.types import (
    AppliedMigration,
    DatabaseStatus,
    MigrationAction,
    MigrationFile,
    MigrationReport,
    MigrationRequest,
)
from aragora_storage_supabase.direct import direct_database
from aragora_storage_supabase.errors import TablesMissingError
from aragora_storage_supabase.functions import NAMES, function_statements
from aragora_storage_supabase.schema import (
    FUNCTIONS_PATH,
    POLICY,
    RELOAD_SCHEMA,
    security_statements,
    sql_path,
)
from aragora_storage_supabase.tables import DATABASES, TABLES

if TYPE_CHECKING:
    from aragora_storage_core.sql.database import SQLDatabase
    from aragora_storage_supabase.backend import SupabaseBackend

#: Seconds a migration waits for the API to serve the new schema.
SCHEMA_RELOAD_WAIT = 30.0


def applied(backend: SupabaseBackend, db: str) -> list[AppliedMigration]:
    """The ``schema_version`` rows of ``db``, read through the API (none if no table)."""
    project = backend.project
    query = (project.table("schema_version")
             .select("version,name,checksum,applied_at,duration_ms")
             .eq("database", db).order("version"))
    try:
        rows = project.run(query, "migration status")
    except TablesMissingError:
        return []
    return [AppliedMigration(int(r["version"]), r["name"], r["checksum"], r["applied_at"],
                             float(r["duration_ms"])) for r in rows]


def missing_tables(backend: SupabaseBackend, tables: Sequence[str] = TABLES) -> list[str]:
    """The tables of ``tables`` the project's API does not know."""
    return [table for table in tables if not backend.table_exists(table)]


def status(backend: SupabaseBackend, db: str) -> DatabaseStatus:
    """Applied, pending and changed migrations of ``db``, and which tables exist."""
    tables = DATABASE_INFO[DatabaseType(db)].table_names
    missing = missing_tables(backend, tables)
    found = (f"all {len(tables)} tables exist" if not missing else
             f"{len(tables) - len(missing)} of {len(tables)} tables exist, missing: "
             + ", ".join(missing))
    return DatabaseStatus.compare(db, f"{backend.project.location}; {found}",
                                  applied(backend, db), discover(db))


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
                      functions: Sequence[str] = (),
                      within: float = SCHEMA_RELOAD_WAIT) -> None:
    """Return once the API serves every table and column of ``columns`` and every
    function of ``functions``.

    PostgREST reloads its schema cache asynchronously after ``NOTIFY pgrst``; until then
    it answers a write to a new table with 404, to a new column with ``PGRST204`` and a
    call of a new function with ``PGRST202``. Polls the API's OpenAPI root (its schema
    cache) for at most ``within`` s.
    """
    deadline = monotonic() + within
    while True:
        served = backend.project.served_schema()
        pending = [t for t, wanted in columns.items()
                   if not set(wanted) <= served.tables.get(t, set())]
        pending += [f"{name}()" for name in functions if name not in served.functions]
        if not pending:
            return
        if monotonic() >= deadline:
            raise MigrationError(
                f"the migrations were applied, but the API of the {backend.project.location}"
                f" did not serve {', '.join(sorted(pending))} within {within:g}s",
                f"run {RELOAD_SCHEMA} in the SQL editor, or restart the project's API")
        sleep(0.05)


def missing_functions(database: SQLDatabase) -> bool:
    """True when a database function of the stores is missing."""
    row = database.fetch_one("SELECT count(DISTINCT proname) FROM pg_proc WHERE proname ="
                             " ANY(%s)", (list(NAMES),), "supabase functions check")
    return row is None or int(row[0]) < len(NAMES)


def apply_direct(backend: SupabaseBackend, dbs: Sequence[str], target: int | None = None,
                 downgrade: bool = False) -> list[DatabaseStatus]:
    """Migrate (or downgrade to ``target``) ``dbs`` over ``SUPABASE_DB_URL``.

    Afterwards the database functions exist, the service role has its grants, row level
    security is on with the service role's policy, and the API has reloaded its schema
    and serves every table.
    """
    tables = ("schema_version", *TABLES)
    with direct_database(backend, "applying migrations") as database:
        results = []
        for db in dbs:
            migrator = Migrator(database, db, backend.project.location)
            results.append(migrator.downgrade(target or 0) if downgrade
                           else migrator.migrate(target))
        existing = set(served_columns(database, tables))
        unsecured = missing_security(database, tables)
        functions = existing >= set(TABLES) and missing_functions(database)
        if not (any(r.ran for r in results) or unsecured or functions):
            return results
        with database.transaction() as tx:
            statements = [*security_statements(tuple(unsecured)), RELOAD_SCHEMA]
            if existing >= set(TABLES):
                statements[:0] = function_statements()
            for statement in statements:
                tx.execute(statement, label="supabase security")
        wait_until_served(backend, served_columns(database, tables),
                          NAMES if existing >= set(TABLES) else ())
        return results


def _editor_files(wanted: list[tuple[str, MigrationFile]]) -> str:
    files = [str(sql_path(m)) for _, m in wanted] + [str(FUNCTIONS_PATH)]
    return " then ".join(files)


def run(backend: SupabaseBackend, request: MigrationRequest) -> MigrationReport:
    """Answer a migration request for the project."""
    report = MigrationReport(request.action)
    dbs = [db.value for db in DATABASES if request.db in (None, db.value)]
    if not dbs:
        return report
    if request.action is MigrationAction.CREATE:
        raise MigrationError("Supabase migrations are generated from the core's "
                             "migrations", "create it on a SQL backend (--db NAME), then "
                             "python -m aragora_storage_supabase.schema")
    current = [status(backend, db) for db in dbs]
    if request.action in (MigrationAction.MIGRATE, MigrationAction.DOWNGRADE):
        for each in current:
            if each.changed:
                each.check_unchanged()
    if request.action is MigrationAction.REPAIR:
        with direct_database(backend, "recording migration checksums") as database:
            report.databases += [Migrator(database, db, backend.project.location).repair()
                                 for db in dbs]
    elif request.action is MigrationAction.DOWNGRADE:
        report.databases += apply_direct(backend, dbs, request.target, downgrade=True)
    elif request.action is MigrationAction.MIGRATE:
        wanted = [(each.db, m) for each in current for m in each.pending
                  if request.target is None or m.version <= request.target]
        if wanted and not backend.direct_url:
            raise MigrationError(
                f"{len(wanted)} migration(s) pending on the {backend.project.location}; "
                f"run in the Supabase SQL editor: {_editor_files(wanted)}",
                "or export SUPABASE_DB_URL=<direct connection string> and migrate again")
        repairable = wanted or backend.direct_url  # grants, RLS, functions checked too
        report.databases += (apply_direct(backend, dbs, request.target) if repairable
                             else current)
    else:
        report.databases += current
    return report
