"""How a sealed column value looks: ``fernet:<key id>:<token>``, and the ``plain:`` mark.

Shared by :mod:`aragora_storage_core.columns` (which picks a cipher) and
:mod:`aragora_storage_core.encryption.fernet` (which seals), so neither imports the other
back.
"""

from __future__ import annotations

import re

SEALED_PREFIX = "fernet:"
#: Marks a plain value that would otherwise read as sealed (or as marked).
PLAIN_PREFIX = "plain:"


#: A sealed value: the prefix, a key id, and a Fernet token (url-safe base64 of at least
#: 73 bytes, the first the version byte 0x80); compiled on first use by ``re.fullmatch``.
_SEALED = r"fernet:([0-9a-f]{8}):(gA[A-Za-z0-9_-]{94,}={0,2})"


def sealed_key_id(stored: str) -> str | None:
    """The key id of a sealed value, or ``None`` for a value stored in plain."""
    match = re.fullmatch(_SEALED, stored)
    return match.group(1) if match else None


def store_plain(value: str) -> str:
    """The stored form of a plain ``value``: as given, unless it could read as sealed."""
    if value.startswith(PLAIN_PREFIX) or sealed_key_id(value) is not None:
        return PLAIN_PREFIX + value
    return value


def read_plain(stored: str) -> str:
    """The plain value of a stored value that is not sealed (see :func:`store_plain`)."""
    return stored[len(PLAIN_PREFIX):] if stored.startswith(PLAIN_PREFIX) else stored
