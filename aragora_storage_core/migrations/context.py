"""What a Python migration's ``upgrade(ctx)`` / ``downgrade(ctx)`` receives.

The seed's migration files take a ``sqlite3.Connection`` named ``conn`` and call
``conn.execute(...)`` and ``conn.executescript(...)``; they run unchanged: both calls
exist here and run inside the migration's one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aragora_storage_core.migrations.files import rename_tables, split_statements
from aragora_storage_core.sql import ddl
from aragora_storage_core.sql.database import Params, Row, Transaction
from aragora_storage_core.sql.dialect import Dialect


class Result:
    """What :meth:`MigrationContext.execute` returns: the rows changed, and any rows read."""

    def __init__(self, tx: Transaction, rowcount: int) -> None:
        self._tx = tx
        self.rowcount = rowcount

    def fetchone(self) -> Row | None:
        """The next row of a query, or ``None``."""
        return self._tx.next_row()

    def fetchall(self) -> list[Row]:
        """The remaining rows of a query."""
        return self._tx.rest_rows()


class MigrationContext:
    """Runs statements inside the migration's transaction, rewritten for the dialect.

    SQL is written in SQLite's spelling with ``?`` placeholders, as in ``.sql`` files;
    ``names`` renames the logical database's tables for where they live.
    """

    def __init__(self, tx: Transaction, dialect: Dialect, db: str,
                 names: Mapping[str, str] | None = None,
                 keys: ddl.KeyColumns = frozenset()) -> None:
        self.tx = tx
        self.dialect = dialect
        self.db = db
        self.names = dict(names or {})
        self.keys = keys
        #: Statements run so far (the one that fails is named by this number).
        self.statements = 0

    def execute(self, sql: str, params: Params = ()) -> Result:
        """Run one statement (DDL written by the dialect); the result has ``rowcount``,
        ``fetchone()``, ``fetchall()``."""
        self.statements += 1
        statement = self.dialect.sql(
            ddl.render(rename_tables(sql, self.names), self.dialect, self.keys))
        return Result(self.tx, self.tx.execute(statement, params, label=self.db))

    def executescript(self, script: str) -> None:
        """Run every statement of ``script`` in the migration's transaction (no COMMIT)."""
        for statement in split_statements(script):
            self.execute(statement)

    def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        """Run a query; return its rows."""
        return self.tx.fetch_all(self.dialect.sql(sql), params, label=self.db)

    def columns(self, table: str) -> set[str]:
        """Column names of ``table`` (empty when it does not exist)."""
        return {row[0] for row in self.tx.fetch_all(self.dialect.columns_sql, (table,))}

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(
            f"MigrationContext has no {name!r}: use ctx.execute() or ctx.executescript();"
            " the migration's transaction is managed by the runner"
        )
