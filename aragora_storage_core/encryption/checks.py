"""Doctor findings about encryption at rest: files, keys, key files.

:func:`sqlite_file_checks` is called by the SQLite plugin's ``storage_health``;
:func:`key_checks` needs only settings and serves every backend. TLS of remote
connections is checked by the PostgreSQL and Redis plugins.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from aragora_storage_core.checks import Check, Level
from aragora_storage_core.encryption.keys import (
    COLUMNS_KEY,
    KEY_SLOTS,
    SQLITE_KEY,
    loose_permissions,
)
from aragora_storage_core.encryption.sqlcipher import (
    MIN_PASSPHRASE_LENGTH,
    DatabaseKey,
    is_encrypted_file,
)
from aragora_storage_core.errors import ConfigurationError
from aragora_storage_core.settings import Settings

#: Findings that the encryption switch and the files disagree (plain files with it on,
#: encrypted files with it off): they name the cause of every key error the files give.
SWITCH_MISMATCH = frozenset({"storage.E076", "storage.E078"})


def key_file_checks(settings: Settings) -> list[Check]:
    """A key file that group or others can read."""
    checks: list[Check] = []
    for slot in KEY_SLOTS.values():
        name = settings.env.get(slot.file_variable, "").strip()
        if not name or not Path(name).is_file():
            continue
        mode = loose_permissions(Path(name))
        if mode is not None:
            checks.append(Check(
                "storage.W080", Level.WARNING,
                f"{slot.file_variable} file {name} is readable by others (mode {mode:o})",
                f"chmod 600 {name}"))
    return checks


def sqlite_file_checks(settings: Settings, paths: Iterable[Path],
                       key: DatabaseKey | None) -> list[Check]:
    """Is each existing SQLite file encrypted exactly when encryption is on; key strength."""
    checks: list[Check] = []
    states = {path: is_encrypted_file(path) for path in paths}
    if settings.sqlite_encryption:
        plain = [p.name for p, encrypted in states.items() if encrypted is False]
        if plain:
            checks.append(Check(
                "storage.E076", Level.ERROR,
                f"{len(plain)} SQLite file(s) are NOT encrypted although "
                f"ARAGORA_SQLITE_ENCRYPTION=1: {', '.join(plain[:5])}",
                "aragora-storage encrypt encrypt"))
        elif states:
            checks.append(Check(
                "storage.I076", Level.INFO,
                f"{len(states)} SQLite file(s) encrypted with SQLCipher"))
    else:
        encrypted = [p.name for p, state in states.items() if state]
        if encrypted:
            checks.append(Check(
                "storage.E078", Level.ERROR,
                f"{len(encrypted)} SQLite file(s) are encrypted but ARAGORA_SQLITE_ENCRYPTION "
                f"is off: {', '.join(encrypted[:5])}",
                "export ARAGORA_SQLITE_ENCRYPTION=1 and the key they were encrypted with"))
        if settings.sqlite_key or settings.env.get(SQLITE_KEY.file_variable):
            checks.append(Check(
                "storage.W077", Level.WARNING,
                "a SQLCipher key is set but ARAGORA_SQLITE_ENCRYPTION is not 1: "
                "SQLite files are stored in plain",
                "export ARAGORA_SQLITE_ENCRYPTION=1, then: aragora-storage encrypt encrypt"))
    if key is not None and key.length < MIN_PASSPHRASE_LENGTH:
        checks.append(Check(
            "storage.W079", Level.WARNING,
            f"the SQLCipher key from {key.source} is shorter than "
            f"{MIN_PASSPHRASE_LENGTH} characters",
            "use a long random passphrase, then: aragora-storage encrypt rekey"))
    return checks


def key_checks(settings: Settings) -> list[Check]:
    """Key files private; column keys valid Fernet keys with ``cryptography`` installed."""
    from aragora_storage_core.columns import column_cipher

    checks = key_file_checks(settings)
    try:
        cipher = column_cipher(settings)
    except ConfigurationError as error:
        return [*checks, Check("storage.E081", Level.ERROR, error.message, error.hint)]
    keys = getattr(cipher, "keys", None)
    if keys:
        ids = ", ".join(key.id for key in keys)
        checks.append(Check("storage.I081", Level.INFO,
                            f"column encryption on ({COLUMNS_KEY.variable}): key ids {ids}; "
                            f"new values use {keys[0].id}"))
    return checks
