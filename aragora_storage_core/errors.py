"""Typed errors: each carries a one-line message and a one-line hint naming the fix.

The CLI turns them into exit codes. Messages never contain secrets: callers build them
from masked URLs and names, never from raw input.
"""

from __future__ import annotations


class StorageError(Exception):
    """Base class of every error this package raises on purpose."""

    code = "storage.E000"

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} (hint: {self.hint})" if self.hint else self.message


class ConfigurationError(StorageError):
    """Settings or environment variables that cannot work."""

    code = "storage.E001"


class InvalidURLError(ConfigurationError):
    """A database URL that cannot be parsed. The message never echoes the URL."""

    code = "storage.E002"


class UnknownSchemeError(ConfigurationError):
    """No installed or known backend handles the URL scheme."""

    code = "storage.E003"


class BackendNotInstalledError(ConfigurationError):
    """A known backend was selected but its distribution is not installed."""

    code = "storage.E004"


class PluginLoadError(StorageError):
    """The selected backend's plugin failed to import or register."""

    code = "storage.E005"


class BackendUnavailableError(StorageError):
    """The backend is configured but cannot be reached or opened."""

    code = "storage.E006"


class StoreNotServedError(StorageError):
    """The active backend does not serve the requested store."""

    code = "storage.E007"


class AsyncNotSupportedError(StorageError):
    """The backend has no async API (``registry.astore``) for this store."""

    code = "storage.E024"


class CorruptDatabaseError(StorageError):
    """A database file is not a database, or fails its integrity check."""

    code = "storage.E008"


class MigrationError(StorageError):
    """A migration could not be applied; nothing of it was kept."""

    code = "storage.E009"


class ChecksumMismatchError(MigrationError):
    """An applied migration file changed after it was applied."""

    code = "storage.E010"


class SchemaNotReadyError(MigrationError):
    """A store was asked of a server database its migrations were never applied to."""

    code = "storage.E019"


class TransactionError(StorageError):
    """A write transaction could not be started or finished; it was rolled back."""

    code = "storage.E011"


class NotFoundError(StorageError):
    """A record the caller asked to change does not exist."""

    code = "storage.E012"


class DuplicateError(StorageError):
    """A record with the same unique key already exists."""

    code = "storage.E013"


class EncryptionUnavailableError(ConfigurationError):
    """Encryption is asked for but its key or its library is missing: nothing is opened."""

    code = "storage.E070"


class WrongKeyError(StorageError):
    """An encrypted database or column value cannot be read with the configured key."""

    code = "storage.E071"


class EncryptedDatabaseError(CorruptDatabaseError):
    """An encrypted database file was opened without a key."""

    code = "storage.E072"


class PlainDatabaseError(StorageError):
    """A plain (unencrypted) database file was opened with an encryption key."""

    code = "storage.E073"


class ColumnKeyError(WrongKeyError):
    """A sensitive column value was sealed with a key that is not (or no longer) configured."""

    code = "storage.E074"


class EncryptionError(StorageError):
    """Encrypting, re-keying or decrypting a database failed; the original is untouched."""

    code = "storage.E075"


class BackupError(StorageError):
    """A backup could not be made, listed, restored or pruned; live data is untouched."""

    code = "storage.E060"


class CorruptBackupError(BackupError):
    """A backup whose manifest is missing or damaged, or whose files do not match it."""

    code = "storage.E061"


class ConsolidationError(StorageError):
    """Legacy files could not be consolidated or verified; the legacy files are untouched."""

    code = "storage.E062"


class CopyError(StorageError):
    """Data could not be copied between two backends; the source is untouched."""

    code = "storage.E063"


class NotWritableError(StorageError):
    """A file or directory the operation must write is read-only (permissions, mount)."""

    code = "storage.E021"


class DiskFullError(StorageError):
    """The device holding the data has no space left."""

    code = "storage.E022"


class LockedError(TransactionError):
    """Another process holds a lock on a database for writing it."""

    code = "storage.E023"
