"""What a Python migration's ``upgrade(ctx)`` / ``downgrade(ctx)`` receives."""

from __future__ import annotations

from typing import Any

from aragora_storage_core.sql import ddl
from aragora_storage_core.sql.database import Params, Row, Transaction
from aragora_storage_core.sql.dialect import Dialect


class MigrationContext:
    """Runs statements inside the migration's transaction, rewritten for the dialect.

    SQL is written in SQLite's spelling with ``?`` placeholders, as in ``.sql`` files.
    """

    def __init__(self, tx: Transaction, dialect: Dialect, db: str,
                 keys: ddl.KeyColumns = frozenset()) -> None:
        self.tx = tx
        self.dialect = dialect
        self.db = db
        self.keys = keys
        #: Statements run so far (the one that fails is named by this number).
        self.statements = 0

    def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement (DDL written by the dialect); return the rows changed."""
        self.statements += 1
        return self.tx.execute(self.dialect.sql(ddl.render(sql, self.dialect, self.keys)),
                               params, label=self.db)

    def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        """Run a query; return its rows."""
        return self.tx.fetch_all(self.dialect.sql(sql), params, label=self.db)

    def columns(self, table: str) -> set[str]:
        """Column names of ``table`` (empty when it does not exist)."""
        return {row[0] for row in self.tx.fetch_all(self.dialect.columns_sql, (table,))}

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(
            f"MigrationContext has no {name!r}: use ctx.execute(); transactions are managed"
        )
