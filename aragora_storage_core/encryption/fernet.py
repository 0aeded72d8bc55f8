"""Fernet encryption of sensitive columns, several keys at once (newest seals, all read).

``cryptography`` is imported only here, when ``ARAGORA_ENCRYPTION_KEY`` is configured.
Each stored value names the id of the key that sealed it, so a value sealed with a retired
key fails with an error naming the column and that key id: never ciphertext, never None.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from aragora_storage_core.encryption.keys import COLUMNS_KEY
from aragora_storage_core.encryption.sealed import SEALED_PREFIX, read_plain, sealed_key_id
from aragora_storage_core.errors import (
    ColumnKeyError,
    ConfigurationError,
    EncryptionUnavailableError,
)

GENERATE_HINT = ("generate one with: python -c \"from cryptography.fernet import Fernet; "
                 "print(Fernet.generate_key().decode())\"")


def _fernet_module() -> Any:
    try:
        from cryptography import fernet
    except ImportError:
        raise EncryptionUnavailableError(
            f"column encryption is configured ({COLUMNS_KEY.variable}) but the cryptography "
            "package is not installed",
            "pip install 'aragora-storage[crypto]'",
        ) from None
    return fernet


def key_id(key: str) -> str:
    """A short public id of ``key``: 8 hex digits of a labelled SHA-256 of it."""
    return hashlib.sha256(b"aragora-column-key\0" + key.encode("ascii")).hexdigest()[:8]


class ColumnKey:
    """One Fernet key and its id; ``repr`` shows the id only."""

    __slots__ = ("fernet", "id")

    def __init__(self, key: str, position: int) -> None:
        fernet = _fernet_module()
        try:
            self.fernet = fernet.Fernet(key.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            raise ConfigurationError(
                f"entry {position} of {COLUMNS_KEY.variable} is not a valid Fernet key "
                "(32 url-safe base64-encoded bytes)",
                GENERATE_HINT,
            ) from None
        self.id = key_id(key)

    def __repr__(self) -> str:
        return f"ColumnKey(id={self.id!r})"


class FernetColumns:
    """A :class:`~aragora_storage_core.columns.ColumnCipher` over Fernet keys.

    ``keys`` are newest first: the first seals, every one of them reads.
    """

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ConfigurationError(f"{COLUMNS_KEY.variable} has no key", GENERATE_HINT)
        self.keys = [ColumnKey(key, position) for position, key in enumerate(keys, 1)]
        self._by_id = {key.id: key for key in reversed(self.keys)}
        self._invalid_token = _fernet_module().InvalidToken

    def __repr__(self) -> str:
        return f"FernetColumns(key_ids={[key.id for key in self.keys]!r})"

    @property
    def primary(self) -> ColumnKey:
        """The key that seals new values."""
        return self.keys[0]

    def is_current(self, stored: str) -> bool:
        """True when ``stored`` is sealed with the primary key (nothing to rotate)."""
        return sealed_key_id(stored) == self.primary.id

    def encrypt(self, table: str, column: str, value: str) -> str:
        """Seal ``value`` with the primary key: ``fernet:<key id>:<token>``."""
        token = self.primary.fernet.encrypt(value.encode("utf-8")).decode("ascii")
        return f"{SEALED_PREFIX}{self.primary.id}:{token}"

    def decrypt(self, table: str, column: str, stored: str) -> str:
        """Open ``stored`` with the key it names; a plain (legacy) value is returned as is.

        Raises :class:`ColumnKeyError` naming ``table.column`` and the key id when that key
        is not configured or the value fails authentication.
        """
        wanted = sealed_key_id(stored)
        if wanted is None:
            return read_plain(stored)
        key = self._by_id.get(wanted)
        if key is None:
            known = ", ".join(k.id for k in self.keys)
            raise ColumnKeyError(
                f"{table}.{column} is encrypted with key id {wanted}, which is not among the "
                f"configured keys ({known})",
                f"add that retired key after the new one in {COLUMNS_KEY.variable}, "
                "then run: aragora-storage encrypt rotate-columns",
            )
        token = stored[len(SEALED_PREFIX) + len(wanted) + 1:]
        try:
            plain: bytes = key.fernet.decrypt(token.encode("ascii"))
        except (self._invalid_token, UnicodeEncodeError):
            raise ColumnKeyError(
                f"{table}.{column} holds a value for key id {wanted} that fails "
                "authentication (altered or truncated)",
                "restore the row from a backup",
            ) from None
        return plain.decode("utf-8")
