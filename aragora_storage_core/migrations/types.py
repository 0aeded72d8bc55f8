"""What ``storage_migrate`` takes and returns."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Any

from aragora_storage_core.errors import ChecksumMismatchError
from aragora_storage_core.records import dataclass, field

#: Hex digits of a checksum shown in messages (enough to tell two apart).
CHECKSUM_SHOWN = 16


class MigrationAction(StrEnum):
    """What a migration request asks for."""

    STATUS = "status"
    DRY_RUN = "dry_run"
    MIGRATE = "migrate"
    DOWNGRADE = "downgrade"
    CREATE = "create"
    REPAIR = "repair"
    BASELINE = "baseline"


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
    """One migration file: ``NNN_description.sql`` or ``NNN_description.py``.

    ``checksum`` is recorded when the file is applied; ``equivalent`` holds the checksums
    of the same text with other line endings, which are no change.
    """

    version: int
    name: str
    path: Path
    checksum: str
    equivalent: frozenset[str] = frozenset()

    def matches(self, recorded: str) -> bool:
        """True when ``recorded`` is the checksum of this file's text (any line endings)."""
        return recorded == self.checksum or recorded in self.equivalent


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
    #: Tables of this database that exist without any version record (to adopt).
    unversioned: list[str] = field(default_factory=list)
    #: The checksum recorded when each migration in ``changed`` was applied, by version.
    recorded: dict[int, str] = field(default_factory=dict)

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
            elif not migration.matches(row.checksum):
                status.changed.append(migration)
                status.recorded[migration.version] = row.checksum
        return status

    def describe_change(self, migration: MigrationFile, label: str | None = None) -> str:
        """``users/002_x.sql changed after it was applied (version 002: recorded …, now …)``.

        ``label`` names the migration (default: database and file name).
        """
        recorded = self.recorded.get(migration.version, "?")
        return (f"{label or f'{self.db}/{migration.path.name}'} changed after it was applied "
                f"(version {migration.version:03d}: recorded checksum "
                f"{recorded[:CHECKSUM_SHOWN]}, the file now has "
                f"{migration.checksum[:CHECKSUM_SHOWN]})")

    def check_unchanged(self, what: str = "migration", label: str | None = None,
                        hint: str | None = None) -> None:
        """Raise :class:`ChecksumMismatchError` for the first changed migration, if any."""
        if self.changed:
            raise ChecksumMismatchError(
                f"{what} {self.describe_change(self.changed[0], label)}",
                hint or "restore the original file and add a new migration for the change; "
                f"if the edit was intended: aragora-storage migrate --repair --db {self.db}")

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
            "unversioned": self.unversioned,
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
