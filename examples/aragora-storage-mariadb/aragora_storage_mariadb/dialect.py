"""MariaDB's spelling of what differs between SQL databases."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aragora_storage_core.plugin_api import Dialect, UpdateReturning

#: Text compares byte for byte, as on SQLite and PostgreSQL ('Ada@x' != 'ada@x').
_BINARY = "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
TYPES = {"TEXT": f"LONGTEXT {_BINARY}", "INTEGER": "BIGINT", "REAL": "DOUBLE",
         "BLOB": "LONGBLOB", "BOOLEAN": "BIGINT", "TIMESTAMP": f"LONGTEXT {_BINARY}"}
#: Indexed text must have a bounded length; 255 characters of utf8mb4 is 1020 bytes, so
#: keys of up to three text columns fit InnoDB's 3072-byte limit.
KEY_TEXT = f"VARCHAR(255) {_BINARY}"


@dataclass(frozen=True)
class MariaDBDialect(Dialect):
    """MariaDB 10.5+: backquotes, ``ON DUPLICATE KEY``, no ``UPDATE ... RETURNING``."""

    def quote(self, identifier: str) -> str:
        """```identifier```."""
        return f"`{identifier.replace('`', '``')}`"

    def upsert(self, table: str, columns: Sequence[str], key: Sequence[str],
               replace: Sequence[str] = (), add: Sequence[str] = (),
               select: str | None = None) -> str:
        """``INSERT ... ON DUPLICATE KEY UPDATE`` (a no-op assignment keeps the row)."""
        updates = [f"{c} = VALUES({c})" for c in replace]
        updates += [f"{c} = {c} + VALUES({c})" for c in add] or [f"{key[0]} = {key[0]}"]
        rows = self._insert_rows(table, columns, select)
        return f"{rows} ON DUPLICATE KEY UPDATE {', '.join(updates)}"

    def update_returning(self, table: str, assignments: str, where: str, key: str,
                         returning: Sequence[str]) -> UpdateReturning:
        """The update, then the row read back by ``key`` in the same transaction."""
        return UpdateReturning(
            self.sql(f"UPDATE {table} SET {assignments} WHERE {where}"),
            self.sql(f"SELECT {', '.join(returning)} FROM {table} WHERE {key} = ?"),
            key_index=assignments.count("?"))

    def column_type(self, declared: str, key: bool) -> str:
        """Bounded binary text for keys, 64-bit integers, doubles, long blobs."""
        if key and declared in ("TEXT", "TIMESTAMP"):
            return KEY_TEXT
        return TYPES.get(declared, declared)

    def identity_column(self, autoincrement: bool) -> str:
        """``BIGINT AUTO_INCREMENT PRIMARY KEY``."""
        return "BIGINT AUTO_INCREMENT PRIMARY KEY"

    def now_default(self) -> str:
        """UTC now as ``YYYY-MM-DD HH:MM:SS`` text."""
        return "(DATE_FORMAT(UTC_TIMESTAMP(), '%Y-%m-%d %H:%i:%s'))"


MARIADB = MariaDBDialect(
    name="mariadb",
    placeholder="%s",
    begin_write="BEGIN",
    columns_sql=("SELECT column_name FROM information_schema.columns WHERE table_schema ="
                 " DATABASE() AND table_name = %s ORDER BY ordinal_position"),
    tables_sql=("SELECT table_name FROM information_schema.tables WHERE table_schema ="
                " DATABASE() AND table_type = 'BASE TABLE'"),
    transactional_ddl=False,
)
