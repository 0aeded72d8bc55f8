"""Why a legacy table could not go into its consolidated home: the row and column named.

SQLite's own error (``NOT NULL constraint failed``, ``UNIQUE constraint failed``,
``datatype mismatch``) names neither the legacy file nor the row; the checks here find the
first row that breaks the target's rule, so the user can fix exactly that row.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from aragora_storage_core.errors import ConsolidationError

if TYPE_CHECKING:
    from aragora_storage_core.consolidate.plan import SourcePlan, TablePlan

_HINT = "fix or delete that row in {file} (a copy: the file is only read), then re-run" \
        " --migrate; nothing was moved into place"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def refusal(conn: sqlite3.Connection, alias: str, source: SourcePlan, table: TablePlan,
            exc: sqlite3.DatabaseError) -> ConsolidationError:
    """The error naming file, table, column and row id of the first row that cannot go in."""
    legacy = f"{alias}.{_q(table.table)}"
    where = f"{source.path.name} table {table.table}"
    target = conn.execute(f"PRAGMA main.table_info({_q(table.target)})").fetchall()
    keys = [r[1] for r in sorted((r for r in target if r[5]), key=lambda r: r[5])]
    for _, column, declared, notnull, default, pk in target:
        if notnull and default is None and not (pk and str(declared).upper() == "INTEGER"):
            test = f"{_q(column)} IS NULL" if column in table.columns else "1"
            row = _first(conn, legacy, test)
            if row is not None:
                return _error(f"{where}: row {row} has no value in column {column}, which"
                              f" {table.target} requires (NOT NULL, no default)", source)
    if len(keys) == 1 and any(str(r[2]).upper() == "INTEGER" and r[5] for r in target):
        row = _first(conn, legacy, f"typeof({_q(keys[0])}) NOT IN ('integer', 'null')")
        if row is not None:
            return _error(f"{where}: row {row} has a non-integer value in column {keys[0]},"
                          f" the integer key of {table.target}", source)
    if keys and all(k in table.columns for k in keys):
        row = _duplicate(conn, legacy, keys, table.target)
        if row is not None:
            return _error(f"{where}: row {row} repeats the key ({', '.join(keys)}) of another"
                          f" row already in {table.target}", source)
    return _error(f"{where} could not be copied into {table.target}: {exc}", source)


def _first(conn: sqlite3.Connection, legacy: str, test: str) -> str | None:
    row = conn.execute(f"SELECT rowid FROM {legacy} WHERE {test} LIMIT 1").fetchone()
    return None if row is None else f"rowid {row[0]}"


def _duplicate(conn: sqlite3.Connection, legacy: str, keys: list[str],
               target: str) -> str | None:
    cols = ", ".join(_q(k) for k in keys)
    row = conn.execute(
        f"SELECT max(rowid) FROM {legacy} GROUP BY {cols} HAVING count(*) > 1 LIMIT 1"
    ).fetchone()
    if row is not None:
        return f"rowid {row[0]}"
    match = " AND ".join(f"l.{_q(k)} = m.{_q(k)}" for k in keys)
    row = conn.execute(f"SELECT l.rowid FROM {legacy} AS l JOIN main.{_q(target)} AS m"
                       f" ON {match} LIMIT 1").fetchone()
    return None if row is None else f"rowid {row[0]}"


def _error(message: str, source: SourcePlan) -> ConsolidationError:
    return ConsolidationError(message, _HINT.format(file=source.path))
