"""Re-encrypt sensitive columns with the newest key, in batches, resumable.

The operator puts the new Fernet key first in ``ARAGORA_ENCRYPTION_KEY`` (or its file)
and keeps the old ones after it. Rotation walks each sensitive column by primary key, one
transaction per batch, re-sealing every value not yet sealed with the new key (plain
legacy values included). Each row is updated only if it still holds the value read, so
concurrent writers are never overwritten. Killed half-way, a re-run skips rows already
done. It ends by checking that every value opens with the new key alone; then the old
keys can be removed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from aragora_storage_core.backend import SQLBackend
from aragora_storage_core.columns import SENSITIVE_COLUMNS
from aragora_storage_core.encryption.fernet import FernetColumns
from aragora_storage_core.encryption.keys import COLUMNS_KEY
from aragora_storage_core.errors import EncryptionUnavailableError
from aragora_storage_core.layout import DATABASES, DatabaseType
from aragora_storage_core.records import dataclass, field
from aragora_storage_core.sql.database import SQLDatabase
from aragora_storage_core.sql.dialect import check_identifier

DEFAULT_BATCH = 500


@dataclass
class RotationReport:
    """What a rotation did: per ``table.column``, rows re-sealed and rows left behind."""

    key_id: str
    resealed: dict[str, int] = field(default_factory=dict)
    remaining: dict[str, int] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """True when every value opens with the new key alone."""
        return not any(self.remaining.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"key_id": self.key_id, "resealed": self.resealed,
                "remaining": self.remaining, "complete": self.complete}


def _home(table: str) -> DatabaseType:
    return next(info.type for info in DATABASES if table in info.table_names)


def _batches(database: SQLDatabase, table: str, column: str,
             size: int) -> Iterator[list[tuple[Any, str]]]:
    """Yield ``[(id, stored), ...]`` batches of non-null values, in primary-key order."""
    sql = database.dialect.sql(
        f"SELECT id, {column} FROM {table} WHERE id > ? AND {column} IS NOT NULL"
        " ORDER BY id LIMIT ?")
    last: Any = ""
    while True:
        rows = database.fetch_all(sql, (last, size), label=f"rotate.{table}")
        if not rows:
            return
        yield [(row[0], row[1]) for row in rows]
        last = rows[-1][0]


def _rotate_column(database: SQLDatabase, cipher: FernetColumns, table: str, column: str,
                   batch_size: int, progress: Any) -> int:
    update = database.dialect.sql(
        f"UPDATE {table} SET {column} = ? WHERE id = ? AND {column} = ?")
    resealed = 0
    for batch in _batches(database, table, column, batch_size):
        stale = [(row_id, stored) for row_id, stored in batch if not cipher.is_current(stored)]
        if stale:
            with database.transaction() as tx:
                for row_id, stored in stale:
                    fresh = cipher.encrypt(table, column, cipher.decrypt(table, column, stored))
                    resealed += tx.execute(update, (fresh, row_id, stored),
                                           label=f"rotate.{table}")
        if progress is not None:
            progress.advance(len(batch), f"{table}.{column}")
    return resealed


def _not_on_new_key(database: SQLDatabase, cipher: FernetColumns, table: str, column: str,
                    batch_size: int) -> int:
    left = 0
    for batch in _batches(database, table, column, batch_size):
        for _, stored in batch:
            if cipher.is_current(stored):
                cipher.decrypt(table, column, stored)
            else:
                left += 1
    return left


def rotate_columns(backend: SQLBackend, batch_size: int = DEFAULT_BATCH,
                   progress: Any = None) -> RotationReport:
    """Re-seal every sensitive value of ``backend`` with the newest configured key."""
    cipher = backend.cipher
    if not isinstance(cipher, FernetColumns):
        raise EncryptionUnavailableError(
            f"rotate-columns needs {COLUMNS_KEY.variable}: the new key first, old ones after",
            f"export {COLUMNS_KEY.variable}=NEW,OLD (or {COLUMNS_KEY.file_variable})",
        )
    report = RotationReport(cipher.primary.id)
    for table, column in sorted(SENSITIVE_COLUMNS):
        check_identifier(table)
        check_identifier(column)
        db_type = _home(table)
        backend.ensure_schema(db_type)
        database = backend.database_for(db_type)
        tables = {row[0] for row in database.fetch_all(database.dialect.tables_sql)}
        if table not in tables:
            continue
        name = f"{table}.{column}"
        if progress is not None:
            row = database.fetch_one(f"SELECT count(*) FROM {table} WHERE {column} IS NOT NULL")
            progress.total = (progress.total or 0) + int(row[0] if row else 0)
        report.resealed[name] = _rotate_column(database, cipher, table, column, batch_size,
                                               progress)
        report.remaining[name] = _not_on_new_key(database, cipher, table, column, batch_size)
    return report
