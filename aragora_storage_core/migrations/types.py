"""What ``storage_migrate`` takes and returns."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any


class MigrationAction(StrEnum):
    """What a migration request asks for."""

    STATUS = "status"
    DRY_RUN = "dry_run"
    MIGRATE = "migrate"
    DOWNGRADE = "downgrade"
    CREATE = "create"


@dataclass(frozen=True)
class MigrationRequest:
    """A request to the migrations engine.

    ``db`` limits it to one logical database; ``target`` is the version to migrate or
    downgrade to; ``description`` names a migration to ``CREATE`` in ``directory``;
    ``automatic`` is true for the migrations a backend applies on first use of a store.
    """

    action: MigrationAction
    db: str | None = None
    target: int | None = None
    description: str | None = None
    directory: Path | None = None
    automatic: bool = False


@dataclass(frozen=True)
class MigrationFile:
    """One migration file: ``NNN_description.sql`` or ``NNN_description.py``."""

    version: int
    name: str
    path: Path
    checksum: str


@dataclass(frozen=True)
class AppliedMigration:
    """One row of ``schema_version``."""

    version: int
    name: str
    checksum: str
    applied_at: str
    duration_ms: float


@dataclass
class DatabaseStatus:
    """Migration state of one logical database."""

    db: str
    location: str
    applied: list[AppliedMigration] = field(default_factory=list)
    pending: list[MigrationFile] = field(default_factory=list)
    changed: list[MigrationFile] = field(default_factory=list)
    ran: list[str] = field(default_factory=list)

    @classmethod
    def compare(cls, db: str, location: str, applied: Iterable[AppliedMigration],
                files: Iterable[MigrationFile]) -> DatabaseStatus:
        """The status of ``db``: which ``files`` are pending, which changed since applied."""
        done = {a.version: a for a in applied}
        status = cls(db, location, applied=sorted(done.values(), key=lambda a: a.version))
        for migration in files:
            row = done.get(migration.version)
            if row is None:
                status.pending.append(migration)
            elif row.checksum != migration.checksum:
                status.changed.append(migration)
        return status

    @property
    def version(self) -> int:
        """Highest applied version (0 when none)."""
        return max((a.version for a in self.applied), default=0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "db": self.db,
            "location": self.location,
            "version": self.version,
            "pending": [f"{m.version:03d}_{m.name}" for m in self.pending],
            "changed": [f"{m.version:03d}_{m.name}" for m in self.changed],
            "ran": self.ran,
        }


@dataclass
class MigrationReport:
    """The outcome of a migration request across databases."""

    action: MigrationAction
    databases: list[DatabaseStatus] = field(default_factory=list)
    created: Path | None = None

    @property
    def pending_count(self) -> int:
        """Migrations not yet applied, over every database."""
        return sum(len(d.pending) for d in self.databases)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "action": self.action.value,
            "databases": [d.to_dict() for d in self.databases],
            "created": str(self.created) if self.created else None,
        }
