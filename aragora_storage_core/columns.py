"""Sensitive columns and the cipher that guards them at rest.

Stores pass every value of a sensitive column through a :class:`ColumnCipher`. Without
``ARAGORA_ENCRYPTION_KEY`` the cipher is :class:`PlainColumns` (values stored as given);
with it, :class:`~aragora_storage_core.encryption.fernet.FernetColumns`. A sealed value is
``fernet:<key id>:<token>``: the key id lets an error name the key a value needs.

Only a value of exactly that shape (8 hex digits, a Fernet token) counts as sealed, so a
plain secret that merely starts with ``fernet:`` reads back as given. A plain value that
has exactly that shape, or starts with ``plain:``, is stored behind ``plain:`` so it can
never be taken for a sealed one.
"""

from __future__ import annotations

from typing import Protocol

from aragora_storage_core.encryption.keys import COLUMNS_KEY, resolve_key, split_keys
from aragora_storage_core.encryption.sealed import (
    PLAIN_PREFIX,
    SEALED_PREFIX,
    read_plain,
    sealed_key_id,
    store_plain,
)
from aragora_storage_core.errors import ColumnKeyError
from aragora_storage_core.settings import Settings

#: ``(table, column)`` pairs that hold secrets. Each table has an ``id`` primary key.
SENSITIVE_COLUMNS: frozenset[tuple[str, str]] = frozenset({("webhooks", "secret")})

__all__ = ["PLAIN_PREFIX", "SEALED_PREFIX", "SENSITIVE_COLUMNS", "ColumnCipher", "PlainColumns",
           "column_cipher", "read_plain", "sealed_key_id", "store_plain"]

class ColumnCipher(Protocol):
    """Encrypts and decrypts the values of sensitive columns."""

    def encrypt(self, table: str, column: str, value: str) -> str:
        """Return the stored form of ``value``."""
    def decrypt(self, table: str, column: str, stored: str) -> str:
        """Return the plain value; raise a typed error when no key can read it."""


class PlainColumns:
    """The identity cipher used when column encryption is not configured."""

    def encrypt(self, table: str, column: str, value: str) -> str:
        """Return ``value`` as given (marked ``plain:`` only if it could read as sealed)."""
        return store_plain(value)

    def decrypt(self, table: str, column: str, stored: str) -> str:
        """Return the plain value; a sealed value raises :class:`ColumnKeyError` (no key)."""
        key_id = sealed_key_id(stored)
        if key_id is not None:
            raise ColumnKeyError(
                f"{table}.{column} is encrypted with key id {key_id} but "
                f"{COLUMNS_KEY.variable} is not set",
                f"export {COLUMNS_KEY.variable} (or {COLUMNS_KEY.file_variable}) with that key",
            )
        return read_plain(stored)


def column_cipher(settings: Settings) -> ColumnCipher:
    """The cipher ``settings`` ask for: Fernet when column keys are configured, else plain."""
    value = resolve_key(COLUMNS_KEY.name, settings)
    if not value:
        return PlainColumns()
    from aragora_storage_core.encryption.fernet import FernetColumns

    return FernetColumns(split_keys(value))
