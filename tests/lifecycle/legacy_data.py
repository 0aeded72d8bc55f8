"""Synthetic legacy data: every legacy file of the real layout, filled with rows.

Used by the lifecycle tests and ``benchmarks/bench_lifecycle.py``. The account files
(``users.db``, ``token_blacklist.db``, ``nomic.db``) are made by our migrations; the 22
domain files are made as the application made them, from ``shared/aragora-layout.json``
(its table names, declared types and NOT NULL columns, no bookkeeping). Rows hold a value
of every column type, and NULL in every third row where the column allows it; they are
written with raw ``executemany`` so millions of rows load fast.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from aragora_storage_core.layout import DATABASES, DatabaseMode, DatabaseType, get_db_path
from aragora_storage_core.migrations.types import MigrationAction, MigrationRequest
from aragora_storage_core.registry import Registry
from aragora_storage_core.url import StorageURL
from tests.layout_facts import facts

#: Logical databases whose legacy files our own migrations make (the seed's accounts).
ACCOUNT_DATABASES = (DatabaseType.USERS, DatabaseType.TOKEN_BLACKLIST, DatabaseType.NOMIC)


def migrate_layout(directory: Path, mode: DatabaseMode = DatabaseMode.LEGACY,
                   only: Sequence[DatabaseType] | None = None) -> None:
    """Create the files of ``mode`` under ``directory`` with the latest schema."""
    registry = Registry()
    backend = registry.connect(StorageURL(scheme="sqlite", database=str(directory),
                                          query=(("mode", mode.value),)))
    try:
        for db in [None] if only is None else [d.value for d in only]:
            registry.hook.storage_migrate(
                backend=backend, request=MigrationRequest(MigrationAction.MIGRATE, db=db))
    finally:
        backend.close()


def application_ddl(table: dict[str, Any]) -> str:
    """``CREATE TABLE`` of one facts-file table as the application's legacy file has it."""
    not_null = set(table["not_null"])
    columns = ", ".join(f"{name} {kind}{' NOT NULL' if name in not_null else ''}"
                        for name, kind in table["columns"].items())
    return f"CREATE TABLE {table['source_table']} ({columns})"


def make_application_files(directory: Path) -> list[tuple[str, str]]:
    """The 22 domain legacy files, made from the facts file; ``[(file, table)]``."""
    directory.mkdir(parents=True, exist_ok=True)
    made = []
    for table in facts()["tables"]:
        conn = sqlite3.connect(directory / table["source_file"])
        try:
            conn.execute(application_ddl(table))
        finally:
            conn.close()
        made.append((table["source_file"], table["source_table"]))
    return made


def _value(kind: str, column: str, n: int, nullable: bool) -> Any:
    if nullable and n % 3 == 2:
        return None
    kind = kind.upper()
    if "BOOL" in kind:
        return n % 2
    if "INT" in kind:
        return n
    if "REAL" in kind:
        return n / 3  # not exact in binary: a lossy float type on the way shows
    if "BLOB" in kind:
        return n.to_bytes(8, "little")
    if "TIMESTAMP" in kind:
        return f"2026-01-{1 + n % 28:02d} 12:{n % 60:02d}:{n % 59:02d}"
    return f"{column}-{n}-é☃"  # beyond ASCII: an encoding slip on the way shows


def rows_for(table: str, start: int, count: int,
             types: Sequence[tuple[str, str, bool]]) -> Iterator[tuple[Any, ...]]:
    """``count`` distinct rows for ``table``, numbered from ``start``.

    ``types`` is ``(column, declared type, nullable)``; a foreign key column is named
    after the column it references, so row ``n`` points at row ``n`` of the other table.
    """
    for n in range(start, start + count):
        yield tuple(_value(kind, column, n, nullable) for column, kind, nullable in types)


def fill(path: Path, table: str, count: int, start: int = 0) -> None:
    """Append ``count`` rows to ``table`` of the file at ``path`` (raw, fast)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        references = {r[3]: r[4] for r in conn.execute(f"PRAGMA foreign_key_list({table})")}
        types = [(references.get(r[1], r[1]), r[2],
                  not r[3] and not r[5] and r[1] not in references and r[1] != "id")
                 for r in conn.execute(f"PRAGMA table_info({table})")]
        marks = ", ".join("?" * len(types))
        conn.execute("BEGIN")
        conn.executemany(f"INSERT INTO {table} VALUES ({marks})",
                         rows_for(table, start, count, types))
        conn.execute("COMMIT")
    finally:
        conn.close()


def make_legacy(directory: Path, rows_per_table: int = 3,
                skip: Sequence[DatabaseType] = ()) -> dict[tuple[str, str], int]:
    """Every legacy file under ``directory`` with ``rows_per_table`` rows in each table.

    Returns ``{(file, table): rows}``. Files of the logical databases in ``skip`` are
    removed.
    """
    migrate_layout(directory, only=ACCOUNT_DATABASES)
    tables = [(info.legacy_file, table.name) for info in DATABASES
              if info.type in ACCOUNT_DATABASES for table in info.tables]
    tables += make_application_files(directory)
    counts: dict[tuple[str, str], int] = {}
    for name, table in tables:
        fill(directory / name, table, rows_per_table)
        counts[name, table] = rows_per_table
    for db in skip:
        get_db_path(db, directory, DatabaseMode.LEGACY, {}).unlink()
        counts = {k: v for k, v in counts.items()
                  if k[0] != get_db_path(db, directory, DatabaseMode.LEGACY, {}).name}
    return counts
