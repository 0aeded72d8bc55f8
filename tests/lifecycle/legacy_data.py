"""Synthetic legacy data: every mapped table, filled with rows derived from the schema.

Used by the lifecycle tests and ``benchmarks/bench_lifecycle.py``. Files are created
with the real migrations (through the SQLite backend's migrate hook) and filled with raw
``executemany`` so millions of rows load fast.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from aragora_storage_core.consolidate.schema import reference_schema
from aragora_storage_core.layout import DATABASES, DatabaseMode, DatabaseType, get_db_path
from aragora_storage_core.migrations.types import MigrationAction, MigrationRequest
from aragora_storage_core.registry import Registry
from aragora_storage_core.url import StorageURL


def migrate_layout(directory: Path, mode: DatabaseMode = DatabaseMode.LEGACY) -> None:
    """Create every file of ``mode`` under ``directory`` with the latest schema."""
    registry = Registry()
    backend = registry.connect(StorageURL(scheme="sqlite", database=str(directory),
                                          query=(("mode", mode.value),)))
    try:
        registry.hook.storage_migrate(backend=backend,
                                      request=MigrationRequest(MigrationAction.MIGRATE))
    finally:
        backend.close()


def _value(kind: str, column: str, n: int) -> Any:
    kind = kind.upper()
    if "INT" in kind:
        return n
    if "REAL" in kind:
        return n / 3  # not exact in binary: a lossy float type on the way shows
    if "BLOB" in kind:
        return n.to_bytes(8, "little")
    return f"{column}-{n}-é☃"  # beyond ASCII: an encoding slip on the way shows


def rows_for(table: str, start: int, count: int,
             types: Sequence[tuple[str, str]]) -> Iterator[tuple[Any, ...]]:
    """``count`` distinct rows for ``table``, numbered from ``start``.

    ``types`` is ``(column, declared type)``; a foreign key column is named after the
    column it references, so row ``n`` points at row ``n`` of the other table.
    """
    for n in range(start, start + count):
        yield tuple(_value(kind, column, n) for column, kind in types)


def fill(path: Path, table: str, count: int, start: int = 0) -> None:
    """Append ``count`` rows to ``table`` of the file at ``path`` (raw, fast)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        references = {r[3]: r[4] for r in conn.execute(f"PRAGMA foreign_key_list({table})")}
        types = [(references.get(r[1], r[1]), r[2])
                 for r in conn.execute(f"PRAGMA table_info({table})")]
        marks = ", ".join("?" * len(types))
        conn.execute("BEGIN")
        conn.executemany(f"INSERT INTO {table} VALUES ({marks})",
                         rows_for(table, start, count, types))
        conn.execute("COMMIT")
    finally:
        conn.close()


def make_legacy(directory: Path, rows_per_table: int = 3,
                skip: Sequence[DatabaseType] = ()) -> dict[str, int]:
    """Every legacy file under ``directory`` with ``rows_per_table`` rows in each table.

    Returns ``{table: rows}``. Files of the logical databases in ``skip`` are removed.
    """
    migrate_layout(directory)
    counts: dict[str, int] = {}
    for info in DATABASES:
        path = get_db_path(info.type, directory, DatabaseMode.LEGACY, {})
        if info.type in skip:
            path.unlink()
            continue
        for table in info.tables:
            fill(path, table, rows_per_table)
            counts[table] = rows_per_table
    assert set(counts) <= set(reference_schema())
    return counts
