"""What differs between SQL dialects, kept to data: placeholders, DDL words, lookups.

Store SQL and migration files are written once, in SQLite's spelling with ``?``
placeholders; a dialect rewrites them once, when a store or migration is prepared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_identifier(name: str) -> str:
    """Return ``name`` if it is a plain SQL identifier, else raise ``ValueError``."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return name


@dataclass(frozen=True)
class Dialect:
    """One SQL dialect.

    ``ddl_rewrites`` are ``(pattern, replacement)`` regular expressions applied to
    migration DDL; ``columns_sql`` lists a table's columns given its name as parameter.
    """

    name: str
    placeholder: str
    begin_write: str
    columns_sql: str
    tables_sql: str
    ddl_rewrites: tuple[tuple[str, str], ...] = ()
    #: Moves ``{table}``'s identity sequence on ``{column}`` past the highest id after rows
    #: were inserted with explicit ids (copy, restore); empty when the database does it
    #: itself, as SQLite does.
    identity_reset_sql: str = ""
    #: Run first in every migration transaction so that one migrator at a time applies
    #: versions. The lock must end with the transaction (it then holds behind a
    #: transaction-mode pooler such as PgBouncer); empty when ``begin_write`` already
    #: serializes writers, as SQLite's ``BEGIN IMMEDIATE`` does.
    migration_lock_sql: str = ""

    def sql(self, text: str) -> str:
        """Rewrite ``?`` placeholders to this dialect's."""
        return text if self.placeholder == "?" else text.replace("?", self.placeholder)

    def ddl(self, text: str) -> str:
        """Rewrite portable DDL (SQLite spelling) into this dialect."""
        for pattern, replacement in self.ddl_rewrites:
            text = re.sub(pattern, replacement, text, flags=re.IGNORECASE)
        return text


SQLITE = Dialect(
    name="sqlite",
    placeholder="?",
    begin_write="BEGIN IMMEDIATE",
    columns_sql="SELECT name FROM pragma_table_info(?)",
    tables_sql="SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
)
