"""Answer a :class:`MigrationRequest` for a SQL backend with the migrations engine."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from aragora_storage_core.errors import MigrationError
from aragora_storage_core.layout import DATABASE_INFO, DatabaseType
from aragora_storage_core.migrations import files
from aragora_storage_core.migrations.engine import Migrator, ordered
from aragora_storage_core.migrations.types import (
    MigrationAction,
    MigrationReport,
    MigrationRequest,
)

if TYPE_CHECKING:
    from aragora_storage_core.backend import SQLBackend


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


def run_request(backend: SQLBackend, request: MigrationRequest) -> MigrationReport:
    """Status, dry run, migrate, downgrade or create, on every logical database of ``backend``."""
    report = MigrationReport(request.action)
    if request.action is MigrationAction.CREATE:
        report.created = create_migration(backend, request)
        return report
    if request.action is MigrationAction.REPAIR and not request.db:
        raise MigrationError("--repair needs --db NAME", "e.g. --repair --db users")
    migrators = sql_migrators(backend, request.db)
    if request.action in (MigrationAction.MIGRATE, MigrationAction.DOWNGRADE):
        for migrator in migrators:  # an edited file anywhere stops the run before any write
            migrator.check_unchanged(migrator.status())
    for migrator in migrators:
        if request.action is MigrationAction.MIGRATE:
            report.databases.append(migrator.migrate(request.target))
        elif request.action is MigrationAction.DOWNGRADE:
            report.databases.append(migrator.downgrade(request.target or 0))
        elif request.action is MigrationAction.REPAIR:
            report.databases.append(migrator.repair())
        elif request.action is MigrationAction.BASELINE:
            report.databases.append(migrator.baseline())
        else:
            status = migrator.status()
            if request.action is MigrationAction.DRY_RUN:
                migrator.check_unchanged(status)
            report.databases.append(status)
    return report
