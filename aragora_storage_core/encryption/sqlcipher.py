"""SQLCipher connections: the passphrase is stretched once per process per database.

SQLCipher 4 derives a file's key as PBKDF2-HMAC-SHA512(passphrase, salt, 256 000 rounds),
the salt being the file's first 16 bytes. We run that derivation in Python, cache the
result per (passphrase, salt), and hand SQLCipher the raw key as ``x'<key><salt>'``: only
hex digits we produced ever reach SQL text, so passphrases with quotes work, and the files
stay readable by any SQLCipher 4 tool given the passphrase.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

from aragora_storage_core.encryption.keys import SQLITE_KEY, resolve_key
from aragora_storage_core.errors import (
    ConfigurationError,
    EncryptedDatabaseError,
    EncryptionUnavailableError,
    PlainDatabaseError,
    WrongKeyError,
)
from aragora_storage_core.settings import Settings

SQLITE_MAGIC = b"SQLite format 3\x00"
#: Page format pinned, so a later SQLCipher with other defaults still reads our files.
SQLCIPHER_MAJOR = 4
SALT_BYTES = 16
KDF_ROUNDS = 256_000
KEY_BYTES = 32
MIN_PASSPHRASE_LENGTH = 16

_derived: dict[tuple[bytes, bytes], bytes] = {}
_derived_lock = threading.Lock()
_derivations = 0
_new_file_lock = threading.Lock()


def derivation_count() -> int:
    """How many times this process has stretched a passphrase (for tests and benchmarks)."""
    return _derivations


def _derive(passphrase: str, salt: bytes) -> bytes:
    global _derivations
    fingerprint = hashlib.sha256(passphrase.encode("utf-8")).digest()
    with _derived_lock:
        key = _derived.get((fingerprint, salt))
        if key is None:
            key = hashlib.pbkdf2_hmac("sha512", passphrase.encode("utf-8"), salt,
                                      KDF_ROUNDS, KEY_BYTES)
            _derived[(fingerprint, salt)] = key
            _derivations += 1
    return key


class DatabaseKey:
    """A SQLCipher passphrase. Its ``repr`` and ``str`` name only where it came from."""

    __slots__ = ("_passphrase", "source")

    def __init__(self, passphrase: str, source: str = SQLITE_KEY.variable) -> None:
        if not passphrase:
            raise EncryptionUnavailableError("the SQLCipher key is empty",
                                             f"set {SQLITE_KEY.variable}")
        try:
            passphrase.encode("utf-8")
        except UnicodeEncodeError:  # raw bytes in the variable; the message would quote one
            raise ConfigurationError(f"the SQLCipher key from {source} is not UTF-8 text",
                                     "store the key as text, e.g. base64 of random bytes: "
                                     "head -c 32 /dev/urandom | base64") from None
        self._passphrase = passphrase
        self.source = source

    def __repr__(self) -> str:
        return f"DatabaseKey(source={self.source!r}, passphrase=***)"

    __str__ = __repr__

    @property
    def length(self) -> int:
        """Number of characters of the passphrase (for doctor's strength check)."""
        return len(self._passphrase)

    def raw_key(self, salt: bytes) -> str:
        """The ``x'<key><salt>'`` literal for a database whose salt is ``salt``."""
        return f"x'{_derive(self._passphrase, salt).hex()}{salt.hex()}'"


def driver() -> ModuleType:
    """The ``sqlcipher3`` DB-API module, or a typed error telling how to install it."""
    try:
        from sqlcipher3 import dbapi2  # type: ignore[import-untyped, unused-ignore]
    except ImportError:
        raise EncryptionUnavailableError(
            "SQLite encryption is requested but the sqlcipher3 module is not installed",
            "pip install 'aragora-storage[sqlcipher]' (or unset ARAGORA_SQLITE_ENCRYPTION)",
        ) from None
    module: ModuleType = dbapi2
    return module


def header(path: str | Path) -> bytes:
    """The first 16 bytes of ``path`` (fewer, or none, for a new or missing file)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(SALT_BYTES)
    except FileNotFoundError:
        return b""


def is_encrypted_file(path: str | Path) -> bool | None:
    """True for an encrypted file, False for a plain one, None when it is empty or missing."""
    start = header(path)
    if len(start) < SALT_BYTES:
        return None
    return start != SQLITE_MAGIC


def refuse_encrypted(path: str) -> None:
    """Raise :class:`EncryptedDatabaseError` when ``path`` looks encrypted (plain open)."""
    if is_encrypted_file(path):
        raise EncryptedDatabaseError(
            f"{path} is encrypted (or not a SQLite file) and no key was given",
            "export ARAGORA_SQLITE_ENCRYPTION=1 and ARAGORA_SQLITE_KEY (or ..._KEY_FILE)",
        )


def _keyed(dbapi2: ModuleType, target: str, key: DatabaseKey, salt: bytes,
           timeout: float) -> Any:
    conn = dbapi2.connect(target, timeout=timeout, isolation_level=None,
                          check_same_thread=False, uri=True)
    conn.execute("PRAGMA cipher_log_level = NONE")
    conn.execute(f'PRAGMA key = "{key.raw_key(salt)}"')
    conn.execute(f"PRAGMA cipher_compatibility = {SQLCIPHER_MAJOR}")
    return conn


def _refuse_plain(path: str, start: bytes) -> None:
    if start == SQLITE_MAGIC:
        raise PlainDatabaseError(
            f"{path} is a plain (unencrypted) database but an encryption key was given",
            "encrypt it first: aragora-storage encrypt encrypt",
        )


def open_keyed(path: str, key: DatabaseKey, timeout: float, target: str | None = None,
               salt: bytes | None = None) -> Any:
    """A ``sqlcipher3`` connection to ``path`` keyed with ``key`` (not yet read).

    ``target`` is what to open when it differs from ``path`` (a read-only ``file:`` URI).
    ``salt``, when the caller knows it (see :func:`cipher_salt`), spares reading the
    header with a plain ``open``, whose close would drop this process's SQLite locks.

    A new file gets a fresh random salt and its header is written at once, one thread at
    a time, so every later opener reads that salt; a process that lost a race to create
    the same file retries with the salt the winner wrote.
    """
    dbapi2 = driver()
    if salt is not None:
        return _keyed(dbapi2, target or path, key, salt, timeout)
    start = header(path)
    _refuse_plain(path, start)
    if len(start) == SALT_BYTES:
        return _keyed(dbapi2, target or path, key, start, timeout)
    with _new_file_lock:
        for _ in range(3):
            start = header(path)
            _refuse_plain(path, start)
            if len(start) == SALT_BYTES:
                return _keyed(dbapi2, path, key, start, timeout)
            salt = os.urandom(SALT_BYTES)
            conn = _keyed(dbapi2, path, key, salt, timeout)
            try:
                conn.execute("PRAGMA journal_mode = WAL")
            except dbapi2.DatabaseError:
                conn.close()
                continue
            if path == ":memory:" or header(path) == salt:
                return conn
            conn.close()
    raise WrongKeyError(f"{path} could not be keyed: another process keeps rewriting it",
                        "stop the other process and retry")


def cipher_salt(conn: Any) -> bytes:
    """The salt of the file an open keyed connection reads (``PRAGMA cipher_salt``)."""
    return bytes.fromhex(conn.execute("PRAGMA cipher_salt").fetchone()[0])


def require_sqlite_key(settings: Settings) -> DatabaseKey:
    """The SQLCipher key from a plugin, the environment or the key file.

    A missing key or a missing ``sqlcipher3`` is an :class:`EncryptionUnavailableError`.
    """
    passphrase = resolve_key(SQLITE_KEY.name, settings)
    if not passphrase:
        raise EncryptionUnavailableError(
            "SQLite encryption is requested but no key is set",
            f"export {SQLITE_KEY.variable} (or {SQLITE_KEY.file_variable}=/path/to/secret)",
        )
    driver()
    return DatabaseKey(passphrase, _source(settings))


def _source(settings: Settings) -> str:
    """Where the SQLCipher key came from, for messages (never the key itself)."""
    for variable in (SQLITE_KEY.variable, SQLITE_KEY.file_variable):
        if settings.env.get(variable, "").strip():
            return variable
    return "the settings (or a key-provider plugin)"


def sqlite_key_for(settings: Settings) -> DatabaseKey | None:
    """The key when ``ARAGORA_SQLITE_ENCRYPTION=1`` (see :func:`require_sqlite_key`), else None."""
    return require_sqlite_key(settings) if settings.sqlite_encryption else None
