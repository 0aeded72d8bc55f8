"""Sensitive columns and the cipher that guards them at rest.

Stores pass every value of a sensitive column through a :class:`ColumnCipher`. Without
``ARAGORA_ENCRYPTION_KEY`` the cipher is :class:`PlainColumns` (values stored as given).
"""

from __future__ import annotations

from typing import Protocol

#: ``(table, column)`` pairs that hold secrets.
SENSITIVE_COLUMNS: frozenset[tuple[str, str]] = frozenset({("webhooks", "secret")})


class ColumnCipher(Protocol):
    """Encrypts and decrypts the values of sensitive columns."""

    def encrypt(self, table: str, column: str, value: str) -> str:
        """Return the stored form of ``value``."""
    def decrypt(self, table: str, column: str, stored: str) -> str:
        """Return the plain value; raise a typed error when no key can read it."""


class PlainColumns:
    """The identity cipher used when column encryption is not configured."""

    def encrypt(self, table: str, column: str, value: str) -> str:
        """Return ``value`` unchanged."""
        return value

    def decrypt(self, table: str, column: str, stored: str) -> str:
        """Return ``stored`` unchanged."""
        return stored
