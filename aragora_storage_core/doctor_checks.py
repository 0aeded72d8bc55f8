"""Doctor's own findings about any backend, registered as ``storage_health`` by the core.

Schema status (asked of ``storage_migrate``, so a plugin that takes migrations over is
asked too) and stray database files in the working directory.
"""

from __future__ import annotations

from pathlib import Path

from aragora_storage_core.backend import Backend
from aragora_storage_core.checks import Check, Level
from aragora_storage_core.errors import StorageError
from aragora_storage_core.migrations.types import (
    MigrationAction,
    MigrationRequest,
)
from aragora_storage_core.settings import Settings


def schema_findings(backend: Backend) -> list[Check]:
    """Applied migrations whose files changed (error) and pending ones (warning)."""
    try:
        report = backend.run_migrations(MigrationRequest(MigrationAction.STATUS))
    except StorageError as error:
        return [Check(error.code, Level.ERROR, error.message, error.hint)]
    if report is None:
        return []
    findings: list[Check] = []
    for status in report.databases:
        if status.unversioned:
            findings.append(Check(
                "storage.W121", Level.WARNING,
                f"{status.location}: tables {', '.join(status.unversioned)} of {status.db} have"
                " no version records (made before aragora-storage, e.g. by the application)",
                f"adopt them: aragora-storage migrate --baseline --db {status.db}"))
        findings.extend(Check(
            "storage.E051", Level.ERROR, f"applied migration {status.describe_change(m)}",
            "restore the original file and add a new migration for the change; if the edit "
            f"was intended: aragora-storage migrate --repair --db {status.db}")
            for m in status.changed)
    pending = report.pending_count
    if pending:
        dbs = sorted({s.db for s in report.databases if s.pending})
        findings.append(Check(
            "storage.W050", Level.WARNING,
            f"{pending} migration(s) pending in {len(dbs)} database(s): {', '.join(dbs[:5])}"
            + (" ..." if len(dbs) > 5 else ""),
            "aragora-storage migrate --migrate"))
    return findings


def stray_files(settings: Settings, where: Path | None = None) -> list[Check]:
    """``*.db`` files in the working directory that belong under the data directory."""
    where = where or Path.cwd()
    data_dir = settings.data_dir.resolve()
    if where.resolve() == data_dir:
        return []
    stray = sorted(p.name for p in where.glob("*.db") if p.is_file())
    if not stray:
        return []
    return [Check(
        "storage.W016", Level.WARNING,
        f"{len(stray)} stray database file(s) in {where}: {', '.join(stray[:5])}",
        f"aragora-storage cleanup (moves them into {settings.data_dir})")]
