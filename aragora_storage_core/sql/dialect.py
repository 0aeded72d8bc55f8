"""What differs between SQL databases, as named operations of a :class:`Dialect`.

Store SQL and migration files are written once, in SQLite's spelling with ``?``
placeholders. Where databases differ, the core never rewrites text: it asks the dialect
for the statement by name (:meth:`Dialect.upsert`, :meth:`Dialect.update_returning`,
:meth:`Dialect.quote`, :meth:`Dialect.column_type`, ...), once, when a store, a migration
or a copy is prepared. A backend for a new database subclasses :class:`Dialect` and
overrides what its database spells differently; ``docs/writing-a-plugin.md`` walks
through one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from aragora_storage_core.records import dataclass

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_identifier(name: str) -> str:
    """Return ``name`` if it is a plain SQL identifier, else raise ``ValueError``."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return name


@dataclass(frozen=True)
class UpdateReturning:
    """An ``UPDATE`` that hands back columns of the row it changed.

    ``select`` is ``None`` when the database returns them from the update itself
    (``UPDATE ... RETURNING``); otherwise the update runs first and ``select`` reads the
    row back by its key, in the same transaction (the update's row lock keeps it).
    """

    update: str
    select: str | None = None
    #: Position of the key among the update's parameters (after the assignments' ones).
    key_index: int = 0


@dataclass(frozen=True)
class Dialect:
    """One SQL dialect: SQLite's spelling as the default of every operation.

    Fields are facts; methods build statements. ``columns_sql`` lists a table's columns
    given its name as parameter, ``tables_sql`` the tables of the current database,
    ``identity_reset_sql`` moves ``{table}``'s identity on ``{column}`` past its highest
    id after rows were inserted with explicit ids (empty when the database does it
    itself), ``transactional_ddl`` says whether DDL commits with its transaction (when it
    does not, migration DDL is made re-runnable with ``IF NOT EXISTS``).
    """

    name: str
    placeholder: str
    begin_write: str
    columns_sql: str
    tables_sql: str
    identity_reset_sql: str = ""
    transactional_ddl: bool = True
    #: Run first in every migration transaction so that one migrator at a time applies
    #: versions. The lock must end with the transaction (it then holds behind a
    #: transaction-mode pooler such as PgBouncer); empty when ``begin_write`` already
    #: serializes writers, as SQLite's ``BEGIN IMMEDIATE`` does.
    migration_lock_sql: str = ""

    def sql(self, text: str) -> str:
        """Rewrite ``?`` placeholders to this dialect's."""
        return text if self.placeholder == "?" else text.replace("?", self.placeholder)

    def quote(self, identifier: str) -> str:
        """``identifier`` quoted for use in a statement (checked to be plain first)."""
        return f'"{check_identifier(identifier)}"'

    def marks(self, count: int) -> str:
        """``count`` placeholders separated by commas."""
        return ", ".join([self.placeholder] * count)

    def insert(self, table: str, columns: Sequence[str], returning: Sequence[str] = ()) -> str:
        """``INSERT INTO table (columns) VALUES (...)``, handing back ``returning`` columns."""
        sql = (f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({self.marks(len(columns))})")
        return sql + (f" RETURNING {', '.join(returning)}" if returning else "")

    def upsert(self, table: str, columns: Sequence[str], key: Sequence[str],
               replace: Sequence[str] = (), add: Sequence[str] = (),
               select: str | None = None) -> str:
        """Insert a row; when one with the same ``key`` exists, change it instead.

        ``replace`` columns take the new row's value, ``add`` columns add it to the stored
        one; with neither, the existing row is kept unchanged. ``select`` (SQLite
        spelling, with a ``WHERE``) inserts its rows instead of one row of parameters.
        """
        updates = [f"{c} = excluded.{c}" for c in replace]
        updates += [f"{c} = {table}.{c} + excluded.{c}" for c in add]
        action = f"DO UPDATE SET {', '.join(updates)}" if updates else "DO NOTHING"
        rows = self._insert_rows(table, columns, select)
        return f"{rows} ON CONFLICT ({', '.join(key)}) {action}"

    def _insert_rows(self, table: str, columns: Sequence[str], select: str | None) -> str:
        if select is None:
            return self.insert(table, columns)
        return f"INSERT INTO {table} ({', '.join(columns)}) {self.sql(select)}"

    def update_returning(self, table: str, assignments: str, where: str, key: str,
                         returning: Sequence[str]) -> UpdateReturning:
        """``UPDATE table SET assignments WHERE where`` handing back ``returning``.

        ``assignments`` and ``where`` are in SQLite spelling with ``?`` placeholders;
        ``where`` must start with ``key = ?``: databases without ``UPDATE ... RETURNING``
        read the row back by that key.
        """
        return UpdateReturning(self.sql(
            f"UPDATE {table} SET {assignments} WHERE {where} RETURNING {', '.join(returning)}"),
            key_index=assignments.count("?"))

    def column_type(self, declared: str, key: bool) -> str:
        """The column type for a portable ``declared`` type (``TEXT``, ``INTEGER``, ``REAL``,
        ``BLOB``); ``key`` is true for columns in a primary key, unique constraint,
        foreign key or index (some databases cannot index unbounded text)."""
        return declared

    def identity_column(self, autoincrement: bool) -> str:
        """Type and constraint of an integer primary key the database numbers itself."""
        return "INTEGER PRIMARY KEY AUTOINCREMENT" if autoincrement else "INTEGER PRIMARY KEY"

    def now_default(self) -> str:
        """A column default giving the current UTC time as ``YYYY-MM-DD HH:MM:SS`` text."""
        return "CURRENT_TIMESTAMP"

    def literal_text(self, statement: str) -> str:
        """``statement`` as sent to a driver that formats it (psycopg2 and PyMySQL double
        ``%``); unchanged for drivers that do not, as sqlite3."""
        return statement


SQLITE = Dialect(
    name="sqlite",
    placeholder="?",
    begin_write="BEGIN IMMEDIATE",
    columns_sql="SELECT name FROM pragma_table_info(?)",
    tables_sql="SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
)
