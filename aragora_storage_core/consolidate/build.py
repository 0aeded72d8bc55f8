"""Build the consolidated files under temporary names, then move them into place.

Each file is made from nothing each time: schema by the migrations engine, rows by
``ATTACH`` + ``INSERT INTO ... SELECT`` with explicit column lists, legacy files attached
read-only in batches no larger than SQLite's attach limit, one transaction per batch.
Only once every file is complete (row counts matching their sources) are they recorded
in the ledger and renamed over the targets, so a refused row or a run killed at any
point leaves the previous state and a re-run gives the same result.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

from aragora_storage_core.backup.manifest import sha256_of
from aragora_storage_core.backup.sqlite import replace_database
from aragora_storage_core.consolidate import DEFAULT_ATTACH_LIMIT, ledger
from aragora_storage_core.consolidate.plan import (
    Plan,
    SourcePlan,
    TablePlan,
    legacy_uri,
    quote_identifier,
)
from aragora_storage_core.consolidate.refusal import refusal
from aragora_storage_core.errors import ConsolidationError
from aragora_storage_core.files import remove_with_companions
from aragora_storage_core.layout import DATABASES, ConsolidatedDatabase
from aragora_storage_core.migrations.engine import Migrator
from aragora_storage_core.migrations.files import ROOT
from aragora_storage_core.progress import Progress
from aragora_storage_core.sqlite.connection import connect
from aragora_storage_core.sqlite.database import SQLiteDatabase


def staging_path(target: Path, home: ConsolidatedDatabase) -> Path:
    """The temporary name ``home`` is built under, beside its final name."""
    return target / f".{home.filename}.consolidating"


def batches(sources: Sequence[SourcePlan], size: int) -> Iterator[Sequence[SourcePlan]]:
    """``sources`` in groups of at most ``size``."""
    for start in range(0, len(sources), size):
        yield sources[start:start + size]


def build_homes(plan: Plan, target: Path, progress: Progress,
                attach_limit: int = DEFAULT_ATTACH_LIMIT) -> list[Path]:
    """Build every consolidated file of ``plan`` in ``target``; return their paths.

    All or nothing: every file is built under its temporary name first; only when all of
    them are complete (and no target was opened meanwhile) are they moved into place, so a
    refused row in one file leaves no new file beside the legacy ones.
    """
    staged: dict[ConsolidatedDatabase, Path] = {}
    try:
        for home in ConsolidatedDatabase:
            staged[home] = staging_path(target, home)
            remove_with_companions(staged[home])
            _fill(staged[home], plan, home, progress, attach_limit)
        for home in staged:
            ledger.check_replaceable(target, home.filename)  # again: opened since the start?
    except BaseException:
        for path in staged.values():
            remove_with_companions(path)
        raise
    return [_move_into_place(path, target, home) for home, path in staged.items()]


def _move_into_place(staged: Path, target: Path, home: ConsolidatedDatabase) -> Path:
    final = target / home.filename
    ledger.record(target, home.filename, sha256_of(staged))
    replace_database(staged, final)
    return final


def _fill(staged: Path, plan: Plan, home: ConsolidatedDatabase, progress: Progress,
          attach_limit: int) -> None:
    _create_schema(staged, home, plan.for_home(home))
    conn = connect(staged, journal_mode="OFF")  # a failed build is discarded whole
    try:
        conn.execute("PRAGMA synchronous = OFF")  # flushed once, before the rename
        conn.execute("PRAGMA foreign_keys = OFF")  # rows arrive as they were, in any order
        limit = max(1, min(attach_limit, conn.getlimit(sqlite3.SQLITE_LIMIT_ATTACHED)))
        for batch in batches(plan.for_home(home), limit):
            _copy_batch(conn, batch, progress)
        conn.execute("PRAGMA journal_mode = DELETE")
    except sqlite3.DatabaseError as exc:
        raise ConsolidationError(f"building {home.filename} failed: {exc}",
                                 "fix the legacy file named above, then re-run --migrate"
                                 ) from None
    finally:
        conn.close()


def _create_schema(staged: Path, home: ConsolidatedDatabase,
                   sources: Sequence[SourcePlan]) -> None:
    """The home's tables by the migrations, plus every extra legacy column."""
    database = SQLiteDatabase(staged)
    try:
        for info in DATABASES:
            if info.home is home:
                Migrator(database, info.type.value, home.filename, ROOT,
                         adopt=False).migrate()
        with database.transaction() as tx:
            for source in sources:
                for table in source.tables:
                    if table.create_sql:  # a table the mapping does not know: as it was
                        tx.execute(table.create_sql)
                    for column, declared in table.extra:
                        tx.execute(f"ALTER TABLE {quote_identifier(table.target)} ADD COLUMN"
                                   f" {quote_identifier(column)} {_plain_type(declared)}")
    finally:
        database.close()


def _plain_type(declared: str) -> str:
    """A legacy column's declared type, if it is plain words (else no type: any value)."""
    return declared if all(ch.isalnum() or ch in " (),_" for ch in declared) else ""


def _copy_batch(conn: sqlite3.Connection, batch: Sequence[SourcePlan],
                progress: Progress) -> None:
    aliases = [f"legacy{n}" for n in range(len(batch))]
    for alias, source in zip(aliases, batch, strict=True):
        conn.execute(f"ATTACH DATABASE ? AS {alias}", (legacy_uri(source.path),))
    try:
        conn.execute("BEGIN")
        for alias, source in zip(aliases, batch, strict=True):
            for table in source.tables:
                _copy_table(conn, alias, source, table)
                progress.advance(table.rows, note=f"{source.path.name}:{table.table}")
        conn.execute("COMMIT")
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        for alias in aliases:
            conn.execute(f"DETACH DATABASE {alias}")


def _copy_table(conn: sqlite3.Connection, alias: str, source: SourcePlan,
                table: TablePlan) -> None:
    """Every row and column of one legacy table into its target, or a named refusal."""
    target = quote_identifier(table.target)
    legacy = f"{alias}.{quote_identifier(table.table)}"
    columns = ", ".join(quote_identifier(c) for c in table.columns)
    try:
        copied = conn.execute(f"INSERT INTO main.{target} ({columns})"
                              f" SELECT {columns} FROM {legacy}").rowcount
    except sqlite3.DatabaseError as exc:
        raise refusal(conn, alias, source, table, exc) from None
    if copied != table.rows:  # the plan counted them: the file changed since, or lost rows
        raise ConsolidationError(
            f"{table.table}: copied {copied} rows of the {table.rows} counted in"
            f" {source.path.name}", "stop the application, then re-run --migrate; nothing"
            " was moved into place")


