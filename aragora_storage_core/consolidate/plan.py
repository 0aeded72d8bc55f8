"""What consolidation would do: every legacy table, its row count and its destination.

Legacy files are only ever opened read-only, so planning (``--dry-run``) writes nothing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

from aragora_storage_core.backup.sqlite import open_source
from aragora_storage_core.consolidate.schema import reference_schema
from aragora_storage_core.errors import ConsolidationError, EncryptedDatabaseError
from aragora_storage_core.layout import (
    DATABASES,
    LEGACY_FILES,
    ConsolidatedDatabase,
    DatabaseInfo,
    DatabaseMode,
    Naming,
    TableInfo,
    get_db_path,
)
from aragora_storage_core.records import dataclass, field
from aragora_storage_core.sqlite.connection import readonly_uri

#: Tables every file may have that consolidation never copies (the target makes its own).
BOOKKEEPING = frozenset({"schema_version"})


def is_quiet(path: Path) -> bool:
    """True when no ``-wal`` or ``-journal`` sits beside ``path``: all of it is in the file.

    Such a file is read as immutable, which creates no ``-wal``/``-shm`` files beside it;
    consolidation expects the application to be stopped.
    """
    return not any(path.with_name(path.name + suffix).exists()
                   for suffix in ("-wal", "-journal"))


def legacy_uri(path: Path) -> str:
    """The read-only URI consolidation opens and attaches a legacy file with."""
    return readonly_uri(path, immutable=is_quiet(path))


def open_legacy(path: Path) -> sqlite3.Connection:
    """Open a legacy file read-only, leaving it and its directory unchanged when quiet.

    An encrypted (SQLCipher) file cannot be attached by plain SQLite: refused with the
    ``copy`` command that reads it with its key. A file left with a hot rollback journal
    is refused with how to roll it back (:func:`~..backup.sqlite.open_source`).
    """
    try:
        return open_source(path, immutable=is_quiet(path))
    except EncryptedDatabaseError:
        directory = quote(str(path.parent.absolute()))  # a URL: '?' or '%' escaped
        raise ConsolidationError(
            f"{path} is encrypted (or not a SQLite file): consolidate reads plain SQLite"
            " files only",
            f"for SQLCipher files run: aragora-storage copy --from"
            f" 'sqlite:///{directory}?mode=legacy' --to"
            f" 'sqlite:///{directory}?mode=consolidated'") from None


def quote_identifier(name: str) -> str:
    """``name`` as a double-quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


@dataclass
class FoundTable:
    """A table as found in a legacy file: its columns with declared types, its rows."""

    table: str
    rows: int
    columns: tuple[str, ...]
    types: dict[str, str] = field(default_factory=dict)
    #: The table's ``CREATE TABLE`` statement in the legacy file.
    sql: str = ""


@dataclass
class TablePlan:
    """One mapped table of one legacy file and where it goes.

    ``table`` is its name in the legacy file, ``target`` in the consolidated home;
    ``extra`` lists the legacy columns the consolidated schema lacks (the target gains
    them, with the legacy declared type, so nothing is dropped). A table the mapping does
    not know has no ``info``; it is carried as it is, made by its legacy ``create_sql``.
    """

    table: str
    rows: int
    columns: tuple[str, ...]
    target: str
    info: TableInfo | None
    extra: tuple[tuple[str, str], ...] = ()
    create_sql: str = ""


@dataclass
class SourcePlan:
    """One legacy file: where it is, whether it exists, and its mapped tables found."""

    info: DatabaseInfo
    path: Path
    exists: bool
    tables: list[TablePlan] = field(default_factory=list)
    missing_tables: list[str] = field(default_factory=list)

    @property
    def home(self) -> ConsolidatedDatabase:
        """The consolidated database this file goes into."""
        return self.info.home


@dataclass
class Plan:
    """Every legacy file of ``source`` and what did not fit the mapping table."""

    source: Path
    sources: list[SourcePlan] = field(default_factory=list)
    #: (legacy file, table) found but not in the mapping table
    unmapped: list[tuple[str, str]] = field(default_factory=list)
    #: ``.db`` files of the source directory the layout does not know: left where they are
    unknown_files: list[str] = field(default_factory=list)

    def for_home(self, home: ConsolidatedDatabase) -> list[SourcePlan]:
        """Existing legacy files that go into ``home``."""
        return [s for s in self.sources if s.home is home and s.exists]

    @property
    def total_rows(self) -> int:
        """Rows to copy over every file."""
        return sum(t.rows for s in self.sources for t in s.tables)

    def warnings(self) -> list[str]:
        """One line per thing consolidation will not copy or cannot find."""
        lines = [f"missing legacy file {s.path.name} ({s.info.purpose}): its tables start empty"
                 for s in self.sources if not s.exists]
        lines += [f"{s.path.name} has no table {t}: it starts empty"
                  for s in self.sources for t in s.missing_tables]
        lines += [f"{f} has a table {t} that is not in the mapping table: carried as it is"
                  for f, t in self.unmapped]
        lines += [f"{s.path.name}: column {t.table}.{c} is not in the consolidated schema:"
                  f" {t.target} in {s.home.filename} gains it" for s in self.sources
                  for t in s.tables for c, _ in t.extra]
        lines += unknown_lines(self.unknown_files, self.source)
        return lines


def unknown_lines(names: list[str], directory: Path) -> list[str]:
    """One line per unknown ``.db`` file: named, and left where it is."""
    return [f"{directory / name} is not a file of the layout: left where it is, not copied"
            for name in names]


def unknown_files(directory: Path) -> list[str]:
    """``.db`` files in ``directory`` that are neither legacy nor consolidated files."""
    known = LEGACY_FILES | {h.filename for h in ConsolidatedDatabase}
    return sorted(p.name for p in directory.glob("*.db")
                  if p.is_file() and p.name not in known and not p.name.startswith("."))


def make_plan(source: Path, env: Mapping[str, str] | None = None) -> Plan:
    """Read every legacy file under ``source`` (read-only) into a :class:`Plan`."""
    if not source.is_dir():
        raise ConsolidationError(f"source directory {source} does not exist",
                                 "pass --source DIR with your legacy .db files (default .nomic)")
    plan = Plan(source, unknown_files=unknown_files(source))
    schema = reference_schema()
    for info in DATABASES:
        path = get_db_path(info.type, source, DatabaseMode.LEGACY, env)
        entry = SourcePlan(info, path, path.is_file())
        plan.sources.append(entry)
        if not entry.exists:
            continue
        found = _inspect(path)
        for table in info.tables:
            legacy = table.named(Naming.LEGACY)
            if legacy not in found:
                entry.missing_tables.append(legacy)
                continue
            seen = found[legacy]
            known = set(schema[table.named(Naming.SHARED)].columns)
            extra = tuple((c, seen.types[c]) for c in seen.columns if c not in known)
            entry.tables.append(TablePlan(legacy, seen.rows, seen.columns, table.name,
                                          table, extra))
        legacy_names = {t.named(Naming.LEGACY) for t in info.tables}
        for name in sorted(set(found) - legacy_names - BOOKKEEPING):
            _carry_unmapped(plan, entry, found[name])
    if not any(s.exists for s in plan.sources):
        raise ConsolidationError(f"no legacy database files in {source}",
                                 "pass --source DIR with your legacy .db files (default .nomic)")
    return plan


def _carry_unmapped(plan: Plan, entry: SourcePlan, seen: FoundTable) -> None:
    """Carry a table the mapping does not know into the home, unless its name is taken."""
    home = entry.info.home
    taken = {t.name: info.legacy_file for info in DATABASES if info.home is home
             for t in info.tables}
    taken.update({t.target: s.path.name for s in plan.sources if s.info.home is home
                  for t in s.tables if t.info is None})
    if seen.table in taken:
        raise ConsolidationError(
            f"{entry.path.name} has a table {seen.table} that is not in the mapping, and"
            f" {home.filename} gets a table {seen.table} from {taken[seen.table]}",
            f"rename it (in {entry.path}, or move the file out of {plan.source}), then re-run")
    plan.unmapped.append((entry.path.name, seen.table))
    entry.tables.append(TablePlan(seen.table, seen.rows, seen.columns, seen.table, None,
                                  create_sql=seen.sql))


def _inspect(path: Path) -> dict[str, FoundTable]:
    """Every table of the file at ``path`` with its columns and row count."""
    conn = open_legacy(path)
    try:
        names = dict(conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table'"
            " AND name NOT LIKE 'sqlite_%'").fetchall())
        found = {}
        for name in names:
            quoted = quote_identifier(name)
            info = conn.execute(f"PRAGMA table_info({quoted})").fetchall()
            rows = int(conn.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0])
            found[name] = FoundTable(name, rows, tuple(r[1] for r in info),
                                     {r[1]: str(r[2]) for r in info}, names[name] or "")
        return found
    finally:
        conn.close()
