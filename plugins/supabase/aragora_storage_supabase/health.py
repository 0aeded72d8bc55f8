"""Health findings about a Supabase project, in bounded time and without changing it.

Transport (HTTPS), the key (anon or not), API latency, the tables PostgREST's schema
cache serves (its OpenAPI root), tables the service role may not use (with the ``GRANT``
that fixes it) and, with ``SUPABASE_DB_URL``, row level security and a schema cache that
lags behind the database. Every request goes without retries, so a project that does not
answer costs at most ``SUPABASE_TIMEOUT`` per request before the first error ends it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aragora_storage_core.checks import Check, Level
from aragora_storage_core.errors import StorageError
from aragora_storage_supabase.errors import GrantsMissingError, TablesMissingError
from aragora_storage_supabase.tables import TABLES

if TYPE_CHECKING:
    from aragora_storage_supabase.backend import SupabaseBackend
    from aragora_storage_supabase.project import ServedSchema

#: Every table the backend reads or writes through the API.
CHECKED = ("schema_version", *TABLES)


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


def grant_sql(tables: list[str]) -> str:
    """The statement that gives the service role what the backend needs on ``tables``."""
    return (f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(tables)} TO service_role"
            " (or: aragora-storage migrate --migrate)")


def api_checks(backend: SupabaseBackend,
               served: ServedSchema) -> tuple[list[Check], list[str]]:
    """Tables missing, or present but not granted to the key's role, seen through the API;
    and the names of the ungranted ones."""
    location = backend.project.location
    missing: list[str] = []
    ungranted: list[str] = []
    for table in CHECKED:
        if table in served.tables:
            continue
        query = backend.project.table(table).select("*").limit(0).retry(False)
        try:
            backend.project.run(query, f"probe {table}")
        except TablesMissingError:
            missing.append(table)
        except GrantsMissingError:
            ungranted.append(table)
    checks: list[Check] = []
    if missing:
        checks.append(Check("storage.W091", Level.WARNING,
                            f"{location} lacks the tables {', '.join(missing)}",
                            "aragora-storage migrate --migrate (see docs/supabase.md)"))
    else:
        checks.append(Check("storage.I091", Level.INFO,
                            f"{location}: all {len(TABLES)} tables exist"))
    if ungranted:
        checks.append(Check("storage.W096", Level.WARNING,
                            f"{location}: the service role lacks grants on "
                            f"{', '.join(ungranted)}, so every call on them fails (42501)",
                            grant_sql(ungranted)))
    return checks, ungranted


def direct_checks(backend: SupabaseBackend, served: ServedSchema,
                  ungranted: list[str]) -> list[Check]:
    """With ``SUPABASE_DB_URL``: row level security and policies, and a schema cache
    that does not (yet) serve tables or columns the database has."""
    from aragora_storage_supabase.direct import direct_database
    from aragora_storage_supabase.migrate import served_columns
    from aragora_storage_supabase.schema import POLICY

    location = backend.project.location
    with direct_database(backend, "checking row level security") as database:
        columns = served_columns(database, CHECKED)
        unprotected = [str(row[0]) for row in database.fetch_all(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relname = ANY(%s) AND NOT (c.relrowsecurity"
            " AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid"
            " AND p.polname = %s)) ORDER BY 1", (list(CHECKED), POLICY), "supabase rls check")]
    checks: list[Check] = []
    if unprotected:
        statements = "; ".join(f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY"
                               for t in unprotected)
        checks.append(Check(
            "storage.W097", Level.WARNING,
            f"{location}: row level security is off (or its policy missing) on "
            f"{', '.join(unprotected)}: the anon key may read or write them",
            f"aragora-storage migrate --migrate, or in the SQL editor: {statements}"))
    if backend.project.role == "anon":
        return checks  # the anon key's schema cache view hides tables on purpose
    stale = sorted(t for t, wanted in columns.items() if t not in ungranted
                   and not set(wanted) <= served.tables.get(t, set()))
    if stale:
        checks.append(Check(
            "storage.W098", Level.WARNING,
            f"{location}: the API's schema cache lags behind the database on "
            f"{', '.join(stale)} (tables or columns it does not serve yet)",
            "in the SQL editor: NOTIFY pgrst, 'reload schema'"))
    else:
        checks.append(Check("storage.I098", Level.INFO,
                            f"{location}: the API's schema cache matches the database"))
    return checks


def health(backend: SupabaseBackend) -> list[Check]:
    """Every finding about ``backend``.

    Pending and changed migrations are reported by ``doctor`` for every backend (the core
    asks ``storage_migrate`` for their status), so they are not repeated here.
    """
    project = backend.project
    checks = [transport_check(backend), *key_check(backend)]
    try:
        latency_ms = backend.probe()
        checks.append(Check("storage.I090", Level.INFO,
                            f"{project.location}: API answered in {latency_ms:.2f} ms",
                            data={"latency_ms": round(latency_ms, 3)}))
        served = project.served_schema()
        found, ungranted = api_checks(backend, served)
        checks += found
        if backend.direct_url:
            checks += direct_checks(backend, served, ungranted)
    except StorageError as error:
        checks.append(Check("storage.E090", Level.ERROR, error.message, error.hint))
    return checks
