"""The core's own plugin: migrations and basic health for every SQL backend.

Registered like any other plugin, with ``trylast`` so a backend plugin can answer first.
"""

from __future__ import annotations

from pathlib import Path
from time import perf_counter

from aragora_storage_core.backend import Backend, SQLBackend
from aragora_storage_core.checks import Check, Level
from aragora_storage_core.errors import MigrationError
from aragora_storage_core.hookspecs import hookimpl
from aragora_storage_core.layout import DATABASE_INFO, DatabaseType
from aragora_storage_core.migrations import files
from aragora_storage_core.migrations.engine import Migrator, ordered
from aragora_storage_core.migrations.types import (
    MigrationAction,
    MigrationReport,
    MigrationRequest,
)


def sql_migrators(backend: SQLBackend, only: str | None = None) -> list[Migrator]:
    """One migrator per logical database of ``backend`` (or just ``only``)."""
    homes = {db.value: label for label, _, dbs in backend.databases() for db in dbs}
    return [backend.migrator(DATABASE_INFO[DatabaseType(name)], homes[name])
            for name in ordered(list(homes), only)]


def create_migration(backend: SQLBackend, request: MigrationRequest) -> Path:
    """Write a new migration for ``request.db`` into the application's folder.

    Never into an installed package: the folder is ``--dir`` when it is on
    ``ARAGORA_MIGRATIONS_PATH``, else that path's first folder; with none, refused.
    """
    if not request.db:
        raise MigrationError("--create needs --db NAME", 'e.g. --create "Add X" --db users')
    ordered([db.value for _, _, dbs in backend.databases() for db in dbs], request.db)
    env = backend.settings.env
    own = files.application_folders(env)
    if not own:
        raise MigrationError(
            "no application migrations folder is configured, and new migrations never go"
            " into an installed package",
            f"export {files.PATH_VARIABLE}=./migrations (a folder of your application)")
    folder = own[0]
    if request.directory is not None:
        if request.directory.resolve() not in {f.resolve() for f in own}:
            raise MigrationError(
                f"{request.directory} is not on {files.PATH_VARIABLE}, so --migrate would"
                " never apply a migration written there",
                f"export {files.PATH_VARIABLE}={request.directory}")
        folder = request.directory
    return files.create(request.db, request.description or "", folder,
                        files.search_path(env))


@hookimpl(trylast=True)
def storage_migrate(backend: Backend, request: MigrationRequest) -> MigrationReport | None:
    """Run the migrations engine on any SQL backend."""
    if not isinstance(backend, SQLBackend):
        return None
    report = MigrationReport(request.action)
    if request.action is MigrationAction.CREATE:
        report.created = create_migration(backend, request)
        return report
    migrators = sql_migrators(backend, request.db)
    if request.action in (MigrationAction.MIGRATE, MigrationAction.DOWNGRADE):
        for migrator in migrators:  # an edited file anywhere stops the run before any write
            migrator.check_unchanged(migrator.status())
    for migrator in migrators:
        if request.action is MigrationAction.MIGRATE:
            report.databases.append(migrator.migrate(request.target))
        elif request.action is MigrationAction.DOWNGRADE:
            report.databases.append(migrator.downgrade(request.target or 0))
        else:
            status = migrator.status()
            if request.action is MigrationAction.DRY_RUN:
                migrator.check_unchanged(status)
            report.databases.append(status)
    return report


@hookimpl(trylast=True)
def storage_health(backend: Backend) -> list[Check]:
    """Round-trip latency of every database of a SQL backend."""
    if not isinstance(backend, SQLBackend):
        return []
    checks: list[Check] = []
    for label, database, _ in backend.databases():
        if not database.exists():
            continue
        start = perf_counter()
        try:
            database.fetch_one("SELECT 1")
        except Exception as exc:  # reported as a finding; doctor must not crash
            checks.append(Check("storage.E030", Level.ERROR,
                                f"{label}: cannot run a query ({type(exc).__name__})",
                                "check the server or file, then run aragora-storage doctor"))
            continue
        ms = (perf_counter() - start) * 1000
        checks.append(Check("storage.I030", Level.INFO, f"{label}: reachable in {ms:.2f} ms",
                            data={"database": label, "latency_ms": round(ms, 3)}))
    return checks
