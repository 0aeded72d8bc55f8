"""A SQL primary's memory of the data set beside it: the ``storage_markers`` table.

One row per remembered marker: ``name`` says whose (``redis at host:6379/0 prefix 'x:'``),
``value`` is the random token that data set held when it was recorded. The table is made
on the first write; reading never creates it (``doctor`` changes no byte).
"""

from __future__ import annotations

from aragora_storage_core.models import utcnow_iso
from aragora_storage_core.sql.database import SQLDatabase

TABLE = "storage_markers"
DDL = (f"CREATE TABLE IF NOT EXISTS {TABLE} (name TEXT PRIMARY KEY, value TEXT NOT NULL,"
       " recorded_at TEXT NOT NULL)")


def read_marker(database: SQLDatabase, name: str) -> tuple[str, str] | None:
    """``(value, recorded_at)`` remembered under ``name``, or ``None``."""
    if not database.exists():
        return None
    tables = {row[0] for row in database.fetch_all(database.dialect.tables_sql)}
    if TABLE not in tables:
        return None
    row = database.fetch_one(
        database.dialect.sql(f"SELECT value, recorded_at FROM {TABLE} WHERE name = ?"), (name,))
    return (str(row[0]), str(row[1])) if row is not None else None


def write_marker(database: SQLDatabase, name: str, value: str) -> None:
    """Remember ``value`` under ``name`` (replacing what was there)."""
    sql = database.dialect.sql
    with database.transaction() as tx:
        tx.execute(DDL, label=TABLE)
        tx.execute(sql(f"DELETE FROM {TABLE} WHERE name = ?"), (name,), label=TABLE)
        tx.execute(sql(f"INSERT INTO {TABLE} (name, value, recorded_at) VALUES (?, ?, ?)"),
                   (name, value, utcnow_iso()), label=TABLE)
