"""Row counts and per-table checksums of legacy tables and their consolidated copies."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from aragora_storage_core.consolidate.plan import Plan, open_legacy, quote_identifier
from aragora_storage_core.consolidate.schema import reference_schema
from aragora_storage_core.errors import ConsolidationError
from aragora_storage_core.layout import Naming
from aragora_storage_core.records import dataclass
from aragora_storage_core.sqlite.connection import connect_readonly

_BATCH = 2000


@dataclass(frozen=True)
class TableCheck:
    """One table compared between its legacy file and its consolidated home."""

    table: str
    source: str
    target: str
    source_rows: int
    target_rows: int
    source_digest: str
    target_digest: str

    @property
    def ok(self) -> bool:
        """Same row count and same checksum."""
        return (self.source_rows == self.target_rows
                and self.source_digest == self.target_digest)


def table_digest(conn: sqlite3.Connection, table: str,
                 columns: tuple[str, ...], order: tuple[str, ...]) -> tuple[int, str]:
    """``(rows, sha256)`` of ``columns`` of every row of ``table`` in ``order``."""
    cols = ", ".join(quote_identifier(c) for c in columns)
    keys = ", ".join(quote_identifier(c) for c in order)
    cursor = conn.execute(f"SELECT {cols} FROM {quote_identifier(table)} ORDER BY {keys}")
    digest = hashlib.sha256()
    rows = 0
    while batch := cursor.fetchmany(_BATCH):
        rows += len(batch)
        for row in batch:
            digest.update(repr(row).encode("utf-8"))
    return rows, digest.hexdigest()


def compare(plan: Plan, target: Path) -> list[TableCheck]:
    """Compare every planned table with its copy under ``target``."""
    schema = reference_schema()
    checks: list[TableCheck] = []
    for source in plan.sources:
        if not source.tables:
            continue
        final = target / source.home.filename
        if not final.is_file():
            raise ConsolidationError(f"{final} does not exist",
                                     "run consolidation first: --migrate")
        src = open_legacy(source.path)
        dest = connect_readonly(final)
        try:
            for table in source.tables:
                columns = table.columns
                key = schema[table.info.named(Naming.SHARED)].order_key if table.info else ()
                order = tuple(c for c in key if c in columns) or columns
                src_rows, src_digest = table_digest(src, table.table, columns, order)
                dest_rows, dest_digest = table_digest(dest, table.target, columns, order)
                checks.append(TableCheck(table.target, source.path.name, final.name,
                                         src_rows, dest_rows, src_digest, dest_digest))
        finally:
            src.close()
            dest.close()
    return checks
