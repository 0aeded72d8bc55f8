"""SQLite encryption at rest: SQLCipher status, encrypt, re-key, decrypt."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from aragora_storage_core.checks import Check
from aragora_storage_core.encryption.checks import sqlite_file_checks
from aragora_storage_core.encryption.convert import decrypt_file, encrypt_file, rekey_file
from aragora_storage_core.encryption.sqlcipher import (
    DatabaseKey,
    is_encrypted_file,
    require_sqlite_key,
)
from aragora_storage_core.encryption.types import (
    EncryptionAction,
    EncryptionRequest,
    EncryptionStatus,
)
from aragora_storage_core.errors import EncryptionError, EncryptionUnavailableError

if TYPE_CHECKING:
    from aragora_storage_sqlite.backend import SQLiteBackend


def _files(backend: SQLiteBackend) -> list[tuple[str, Path]]:
    """``(label, path)`` of every existing file of the layout, once each."""
    seen: dict[Path, str] = {}
    for label, database, _ in backend.databases():
        path = Path(database.path)
        if path.is_file() and path not in seen:
            seen[path] = label
    return [(label, path) for path, label in seen.items()]


def _key(backend: SQLiteBackend) -> DatabaseKey:
    return backend.key or require_sqlite_key(backend.settings)


def _convert(backend: SQLiteBackend, label: str, path: Path,
             request: EncryptionRequest, status: EncryptionStatus) -> None:
    timeout = backend.settings.db_timeout
    if request.action is EncryptionAction.ENCRYPT:
        if encrypt_file(path, _key(backend), timeout):
            status.changed.append(label)
    elif request.action is EncryptionAction.REKEY:
        if not request.new_key:
            raise EncryptionUnavailableError("rekey needs the new key",
                                             "pass --new-key-file PATH (mode 0600)")
        if rekey_file(path, _key(backend), DatabaseKey(request.new_key, "the new key"),
                      timeout):
            status.changed.append(label)
    elif request.action is EncryptionAction.DECRYPT:
        if request.directory is None:
            raise EncryptionError("decrypt needs a directory for the plain copies",
                                  "pass --to DIR")
        destination = request.directory / label
        if decrypt_file(path, _key(backend), destination, timeout):
            status.changed.append(label)
            status.written.append(destination)


def _refuse_existing(directory: Path, labels: list[str]) -> None:
    """Refuse an export directory that already holds one of the copies, before writing any."""
    present = [label for label in labels if (directory / label).exists()]
    if present:
        raise EncryptionError(f"{directory / present[0]} already exists; nothing was written",
                              "choose an empty export directory")


def encrypt(backend: SQLiteBackend, request: EncryptionRequest) -> EncryptionStatus:
    """Report or change SQLCipher encryption of every file of a SQLite backend.

    Closes the backend's connections first: converting files is an offline operation.
    """
    status = EncryptionStatus()
    files = _files(backend)
    if request.action is EncryptionAction.DECRYPT and request.directory is not None:
        _refuse_existing(request.directory, [label for label, _ in files])
    if request.action is not EncryptionAction.STATUS:
        backend.close()
        if request.progress is not None:
            request.progress.total = len(files)
        for label, path in files:
            _convert(backend, label, path, request, status)
            if request.progress is not None:
                request.progress.advance(1, label)
    for label, path in files:
        status.encrypted[label] = bool(is_encrypted_file(path))
    return status


def encryption_health(backend: SQLiteBackend) -> list[Check]:
    """Is each file encrypted as asked, key strength, file and key-file permissions."""
    files = [path for _, path in _files(backend)]
    return sqlite_file_checks(backend.settings, files, backend.key)
