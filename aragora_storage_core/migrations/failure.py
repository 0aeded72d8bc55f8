"""The error for a migration that failed: which file, which statement, and why.

The database's own message is shown (SQL error text names tables, columns and syntax,
never a connection string or key). A :class:`StorageError` raised while the migration
ran (connection lost, database locked) already names its cause and passes unchanged.
"""

from __future__ import annotations

from aragora_storage_core.errors import MigrationError, StorageError
from aragora_storage_core.migrations.types import MigrationFile


def database_message(error: BaseException) -> str:
    """The first line of what the database (or the migration's own code) said."""
    diag = getattr(error, "diag", None)  # psycopg2: the server's message without context
    primary = getattr(diag, "message_primary", None)
    text = primary if isinstance(primary, str) and primary else str(error)
    first = text.strip().splitlines()[0] if text.strip() else ""
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


def failed(db: str, migration: MigrationFile, statement: int, error: Exception,
           up: bool = True) -> StorageError:
    """The error to raise for ``migration`` failing at its ``statement``-th statement."""
    if isinstance(error, StorageError):
        return error
    where = f"at statement {statement}" if statement else "before its first statement"
    direction = "" if up else " (downgrade)"
    return MigrationError(
        f"migration {db}/{migration.path.name}{direction} failed {where}: "
        f"{database_message(error)}; nothing of it was kept",
        f"fix {migration.path}, then run aragora-storage migrate --migrate again")
