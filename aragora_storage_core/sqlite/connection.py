"""The one factory every SQLite connection of the project is made by.

Each connection: autocommit mode (transactions are explicit), WAL, ``synchronous=NORMAL``,
a busy timeout (``DB_TIMEOUT``), foreign keys on. A file that is not a database, or whose
header is damaged, fails here with :class:`CorruptDatabaseError` instead of later.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from aragora_storage_core.causes import root_cause
from aragora_storage_core.encryption.sqlcipher import (
    DatabaseKey,
    open_keyed,
    refuse_encrypted,
    require_sqlite_key,
)
from aragora_storage_core.errors import (
    CorruptDatabaseError,
    StorageError,
    TransactionError,
    WrongKeyError,
)
from aragora_storage_core.files import ensure_private_file
from aragora_storage_core.settings import Settings

MEMORY = ":memory:"
T = TypeVar("T")


def _pragmas(timeout: float, journal_mode: str | None = "WAL") -> tuple[str, ...]:
    journal = () if journal_mode is None else (f"PRAGMA journal_mode = {journal_mode}",)
    return (
        f"PRAGMA busy_timeout = {int(timeout * 1000)}",
        *journal,
        "PRAGMA synchronous = NORMAL",
        "PRAGMA foreign_keys = ON",
    )


def unusable(target: str, key: DatabaseKey | None, exc: Exception) -> StorageError:
    """The error for a file that failed its first read: wrong key, or not a database."""
    if key is not None:
        return WrongKeyError(f"{target} cannot be opened with the key from {key.source}",
                             "use the key the file was encrypted with")
    return CorruptDatabaseError(f"{target} is not a usable SQLite database ({exc})",
                                "restore it from a backup: aragora-storage backup restore")


def connect(path: str | Path, timeout: float = 30.0, *, create: bool = True,
            key: DatabaseKey | None = None, journal_mode: str | None = "WAL",
            salt: bytes | None = None) -> sqlite3.Connection:
    """Open ``path`` with the project's pragmas; create it ``0600`` when ``create``.

    ``journal_mode`` stays WAL except for a private file written once and never shared
    (a backup copy): ``OFF`` there skips the WAL set-up. ``None`` leaves the file's mode
    as it is, so opening it changes no byte of it (a file about to be replaced).
    With ``key`` the file is opened with SQLCipher (see :mod:`.encryption.sqlcipher`);
    ``salt``, the file's known salt, spares re-reading its header.
    Raises :class:`CorruptDatabaseError` when the file is not a readable SQLite database,
    :class:`EncryptedDatabaseError` for an encrypted file opened without a key, and
    :class:`WrongKeyError` when ``key`` does not open it.
    """
    target = str(path)
    if target != MEMORY:
        if create:
            ensure_private_file(Path(target))
        elif not Path(target).exists():
            raise CorruptDatabaseError(
                f"database file {target} does not exist", "run: aragora-storage migrate --migrate"
            )
    if key is None:
        conn = sqlite3.connect(
            target, timeout=timeout, isolation_level=None, check_same_thread=False, uri=True
        )
    else:
        conn = open_keyed(target, key, timeout, salt=salt)
    _prepare(conn, target, key, timeout, _pragmas(timeout, journal_mode))
    return conn


def _prepare(conn: sqlite3.Connection, target: str, key: DatabaseKey | None, timeout: float,
             pragmas: tuple[str, ...]) -> None:
    """Run ``pragmas`` and a first read on a new connection; close it if that fails.

    A "busy" answer here is retried like any other until ``timeout``: a file another
    process is creating or switching to WAL answers busy at once, without waiting in
    SQLite's busy handler.
    """
    def first_use() -> None:
        for pragma in pragmas:
            conn.execute(pragma)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()

    try:
        try:
            first_use()
        except conn.DatabaseError as exc:
            if not is_busy(exc):
                raise
            retry_while_busy(first_use, timeout, target)
    except conn.DatabaseError as exc:
        conn.close()
        raise _unreadable(target, key, exc, timeout) from None
    except TransactionError:
        conn.close()
        raise


_BUSY_WORDS = ("locked", "busy")


def is_busy(exc: BaseException) -> bool:
    """True for SQLite's "database is locked" / "busy" errors (any driver's)."""
    text = str(exc).lower()
    return type(exc).__name__ == "OperationalError" and any(w in text for w in _BUSY_WORDS)


def retry_while_busy(action: Callable[[], T], timeout: float, path: str) -> T:
    """Run ``action`` until SQLite stops answering "busy", with jittered back-off.

    Raises :class:`TransactionError` once ``timeout`` seconds have passed.
    """
    deadline = time.monotonic() + timeout
    delay = 0.002
    while True:
        time.sleep(random.uniform(0, delay))
        delay = min(delay * 2, 0.1)
        try:
            return action()
        except Exception as exc:
            if not is_busy(exc):
                raise
            if time.monotonic() >= deadline:
                raise locked_error(path, timeout) from None


def locked_error(target: str, timeout: float) -> TransactionError:
    """The error for a database another connection kept locked past ``timeout``."""
    return TransactionError(
        f"{Path(target).name} stayed locked by another connection for {timeout:g}s",
        "find the process holding a long write or an exclusive lock, or raise DB_TIMEOUT",
    )


def _unreadable(target: str, key: DatabaseKey | None, exc: Exception,
                timeout: float) -> StorageError:
    """Why a file failed its first read. Only now is its header read with a plain ``open``.

    Closing any descriptor of a file drops every POSIX lock this process holds on it, the
    locks of SQLite connections of other threads included; a healthy file being opened
    must never be probed that way (``tests/sqlite/test_file_locks.py``).
    """
    if is_busy(exc):
        return locked_error(target, timeout)
    cause = root_cause(exc, target) if target != MEMORY else None
    if cause is not None:  # read-only place, full disk: not damage
        return cause
    if key is None and target != MEMORY:
        try:
            refuse_encrypted(target)
        except StorageError as error:
            return error
    return unusable(target, key, exc)


def readonly_uri(path: str | Path, *, immutable: bool = False) -> str:
    """A ``file:`` URI opening ``path`` read-only (``immutable``: no -wal/-shm at all)."""
    uri = f"file:{quote(str(Path(path).absolute()))}?mode=ro"
    return uri + "&immutable=1" if immutable else uri


def connect_readonly(path: str | Path, timeout: float = 30.0, *,
                     immutable: bool = False, key: DatabaseKey | None = None) -> sqlite3.Connection:
    """Open an existing ``path`` read-only: no pragma writes, no checkpoint on close.

    For reading files that must stay byte-for-byte untouched (legacy files being
    consolidated, backups being verified). ``immutable`` also skips locking and the WAL,
    for files no process writes. ``key`` opens an encrypted file. Raises like :func:`connect`.
    """
    if not Path(path).is_file():
        raise CorruptDatabaseError(f"database file {path} does not exist",
                                   "check the path")
    uri = readonly_uri(path, immutable=immutable)
    if key is None:
        conn = sqlite3.connect(uri, timeout=timeout, isolation_level=None,
                               check_same_thread=False, uri=True)
    else:
        conn = open_keyed(str(path), key, timeout, target=uri)
    _prepare(conn, str(path), key, timeout, (f"PRAGMA busy_timeout = {int(timeout * 1000)}",))
    return conn


def open_encrypted(path: str | Path, timeout: float = 30.0,
                   key: DatabaseKey | None = None) -> Any:
    """Open ``path`` encrypted, with the project's pragmas; ``key`` defaults to the env's.

    Raises :class:`WrongKeyError`, :class:`PlainDatabaseError` or
    :class:`EncryptionUnavailableError`; never returns a plain connection.
    """
    return connect(path, timeout, key=key or require_sqlite_key(Settings.from_env()))
