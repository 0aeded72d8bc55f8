"""Encrypt, re-key and decrypt SQLite files with SQLCipher, safely.

Each conversion writes a new file beside the original with ``sqlcipher_export``, verifies
it (integrity check, cipher check, same row count in every table), and only then swaps
it in with one atomic rename; until that rename the original is untouched, so a crash
or a failed verification leaves the database as it was. Stop the application first:
these are offline operations.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from aragora_storage_core.backup.sqlite import IN_USE_WAIT, quiesce
from aragora_storage_core.encryption.sqlcipher import (
    SALT_BYTES,
    SQLCIPHER_MAJOR,
    DatabaseKey,
    driver,
    header,
    is_encrypted_file,
)
from aragora_storage_core.errors import BackupError, EncryptionError, WrongKeyError
from aragora_storage_core.files import (
    FILE_MODE,
    ensure_private_dir,
    remove_with_companions,
    swap_into_place,
)
from aragora_storage_core.sqlite.connection import connect

TABLES_SQL = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"


def row_counts(conn: Any) -> dict[str, int]:
    """``{table: rows}`` for every table of ``conn``'s main database."""
    tables = [row[0] for row in conn.execute(TABLES_SQL).fetchall()]
    return {t: int(conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]) for t in tables}


def _open_plain_source(path: Path, timeout: float) -> Any:
    """A ``sqlcipher3`` connection to a plain file (needed for ``sqlcipher_export``)."""
    conn = driver().connect(str(path), timeout=timeout, isolation_level=None,
                            check_same_thread=False)
    conn.execute("PRAGMA cipher_log_level = NONE")
    conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
    return conn


def _export(source: Any, target: Path, target_key: str) -> None:
    """Copy ``source``'s main database into a new ``target`` keyed by ``target_key``.

    ``target`` is created ``0600`` before SQLite writes to it (its journal takes the same
    mode): a plain copy is never readable by others, not even half-written.
    """
    remove_with_companions(target)
    os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE))
    source.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    source.execute(f"PRAGMA cipher_default_compatibility = {SQLCIPHER_MAJOR}")
    source.execute("ATTACH DATABASE ? AS converted KEY ?", (str(target), target_key))
    try:
        source.execute("BEGIN IMMEDIATE")
        try:
            source.execute("SELECT sqlcipher_export('converted')")
        finally:
            source.execute("COMMIT")
    except BaseException:
        source.execute("DETACH DATABASE converted")
        remove_with_companions(target)
        raise
    source.execute("DETACH DATABASE converted")
    os.chmod(target, FILE_MODE)


def _verify(copy: Any, expected: dict[str, int], path: Path) -> None:
    try:
        result = copy.execute("PRAGMA integrity_check").fetchone()
        counts = row_counts(copy)
    except Exception as exc:  # any driver error means the copy is unusable
        raise EncryptionError(f"the converted copy of {path.name} cannot be read "
                              f"({type(exc).__name__}); the original is untouched",
                              "check free disk space and retry") from None
    if result is None or result[0] != "ok" or counts != expected:
        raise EncryptionError(f"the converted copy of {path.name} does not match the "
                              "original; the original is untouched",
                              "run aragora-storage doctor, then retry")


def _verified(staged: Path, expected: dict[str, int], original: Path, timeout: float,
              key: DatabaseKey | None) -> None:
    """Verify the converted ``staged`` copy as a self-contained file; delete it if bad."""
    try:
        copy = connect(staged, timeout, create=False, key=key)
        try:
            _verify(copy, expected, original)
        finally:
            copy.close()
    except BaseException:
        remove_with_companions(staged)
        raise


def encrypt_file(path: Path, key: DatabaseKey, timeout: float = 30.0) -> bool:
    """Encrypt the plain database ``path`` in place; False when there was nothing to do."""
    if is_encrypted_file(path) is not False:
        return False
    _refuse_if_open(path, None, timeout)
    staged = path.with_name(path.name + ".encrypting")
    source = _open_plain_source(path, timeout)
    try:
        expected = row_counts(source)
        _export(source, staged, key.raw_key(os.urandom(SALT_BYTES)))
    finally:
        source.close()
    _verified(staged, expected, path, timeout, key)
    swap_into_place(staged, path)
    return True


def rekey_file(path: Path, key: DatabaseKey, new_key: DatabaseKey,
               timeout: float = 30.0) -> bool:
    """Change the key of the encrypted database ``path`` with ``PRAGMA rekey``.

    SQLCipher re-encrypts every page in one transaction: an interruption leaves the file
    readable by exactly one of the two keys, and a re-run skips a file the new key already
    opens. The file keeps its salt, so the new raw key is derived with that salt.
    Returns False when the file is not encrypted or already on the new key.
    """
    if not is_encrypted_file(path):
        return False
    try:
        _refuse_if_open(path, key, timeout)
    except WrongKeyError:
        if _opens_with(path, new_key, timeout):
            return False  # an earlier run, killed before it finished, already re-keyed it
        raise
    conn = connect(path, timeout, create=False, key=key)
    try:
        expected = row_counts(conn)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        salt = header(path)
        conn.execute(f'PRAGMA rekey = "{new_key.raw_key(salt)}"')
    finally:
        conn.close()
    check = connect(path, timeout, create=False, key=new_key)
    try:
        _verify(check, expected, path)
    finally:
        check.close()
    return True


def _refuse_if_open(path: Path, key: DatabaseKey | None, timeout: float) -> None:
    """Refuse ``path`` while another process has it open; fold its WAL into it.

    A running server would go on writing to the file encrypt replaces (its writes lost)
    or write pages under the old key into the file rekey re-encrypts.
    """
    try:
        quiesce(path, key, min(timeout, IN_USE_WAIT))
    except BackupError:
        raise EncryptionError(f"{path} is open in another process",
                              "stop every process using the data (the server), then run "
                              "the command again") from None


def _opens_with(path: Path, key: DatabaseKey, timeout: float) -> bool:
    """True when ``key`` opens ``path`` (a read is forced)."""
    try:
        connect(path, timeout, create=False, key=key).close()
    except WrongKeyError:
        return False
    return True


def decrypt_file(path: Path, key: DatabaseKey, destination: Path,
                 timeout: float = 30.0) -> bool:
    """Write a verified plain copy of the encrypted ``path`` to ``destination`` (0600).

    The encrypted original is not changed. Returns False when ``path`` is not encrypted.
    """
    if not is_encrypted_file(path):
        return False
    if destination.exists():
        raise EncryptionError(f"{destination} already exists; nothing was written",
                              "choose an empty export directory")
    ensure_private_dir(destination.parent)
    staged = destination.with_name(destination.name + ".decrypting")
    source = connect(path, timeout, create=False, key=key)
    try:
        expected = row_counts(source)
        _export(source, staged, "")
    finally:
        source.close()
    _verified(staged, expected, path, timeout, None)
    swap_into_place(staged, destination)
    return True
