"""Answer a :class:`MigrationRequest` for a SQL backend with the migrations engine."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aragora_storage_core.errors import MigrationError
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
    homes = {db.value: (label, database) for label, database, dbs in backend.databases()
             for db in dbs}
    return [Migrator(homes[name][1], name, homes[name][0])
            for name in ordered(list(homes), only)]


def run_request(backend: SQLBackend, request: MigrationRequest) -> MigrationReport:
    """Status, dry run, migrate, downgrade or create, on every logical database of ``backend``."""
    report = MigrationReport(request.action)
    if request.action is MigrationAction.CREATE:
        if not request.db:
            raise MigrationError("--create needs --db NAME", 'e.g. --create "Add X" --db users')
        ordered([db.value for _, _, dbs in backend.databases() for db in dbs], request.db)
        report.created = files.create(request.db, request.description or "",
                                      request.directory or files.ROOT)
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
        else:
            status = migrator.status()
            if request.action is MigrationAction.DRY_RUN:
                migrator.check_unchanged(status)
            report.databases.append(status)
    return report
