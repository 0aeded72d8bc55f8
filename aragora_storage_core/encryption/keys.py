"""Where keys come from: a key-provider plugin, an environment variable, or a key file.

Two keys exist: ``sqlite`` (the SQLCipher passphrase) and ``columns`` (Fernet keys for
sensitive columns, newest first). For each, the first source that answers wins:

1. the ``storage_key(name, settings)`` hook (a plugin reading a secret manager),
2. the environment variable (``ARAGORA_SQLITE_KEY`` / ``ARAGORA_ENCRYPTION_KEY``),
3. the key file named by ``ARAGORA_SQLITE_KEY_FILE`` / ``ARAGORA_ENCRYPTION_KEY_FILE``
   (a mounted Kubernetes secret); a file readable by others is warned about.

Setting both the variable and the file is an error: one of them would be silently ignored.
Key values never appear in messages, logs or ``repr``.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

from aragora_storage_core.errors import ConfigurationError
from aragora_storage_core.records import dataclass, replace
from aragora_storage_core.settings import Settings

#: The logger warning about key files others can read (``logging`` loads on first use).
LOGGER = "aragora_storage.encryption"


@dataclass(frozen=True)
class KeySlot:
    """One named key: the variable that holds it and the variable naming its file."""

    name: str
    variable: str
    file_variable: str


SQLITE_KEY = KeySlot("sqlite", "ARAGORA_SQLITE_KEY", "ARAGORA_SQLITE_KEY_FILE")
COLUMNS_KEY = KeySlot("columns", "ARAGORA_ENCRYPTION_KEY", "ARAGORA_ENCRYPTION_KEY_FILE")
KEY_SLOTS: dict[str, KeySlot] = {slot.name: slot for slot in (SQLITE_KEY, COLUMNS_KEY)}


def loose_permissions(path: Path) -> int | None:
    """The mode of ``path`` when group or others may access it, else ``None``."""
    mode = stat.S_IMODE(path.stat().st_mode)
    return mode if mode & 0o077 else None


def read_key_file(path: Path, slot: KeySlot) -> str:
    """The key stored in ``path`` (surrounding whitespace removed); warn if not ``0600``."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read {slot.file_variable} file {path}: {exc.strerror}",
            f"mount the secret at {path} or fix {slot.file_variable}",
        ) from None
    except UnicodeDecodeError:  # its message would quote a byte of the key
        raise ConfigurationError(
            f"{slot.file_variable} file {path} is not UTF-8 text",
            "store the key as text, e.g. base64 of random bytes: "
            "head -c 32 /dev/urandom | base64",
        ) from None
    if not text:
        raise ConfigurationError(f"{slot.file_variable} file {path} is empty",
                                 f"write the key into {path}")
    mode = loose_permissions(path)
    if mode is not None:
        import logging

        logging.getLogger(LOGGER).warning(
            "key file %s is accessible by group or others (mode %o); chmod 600 %s",
            path, mode, path)
    return text


def _environment_value(slot: KeySlot, settings: Settings) -> str | None:
    if slot is SQLITE_KEY:
        return settings.sqlite_key
    return ",".join(settings.encryption_keys) or None


def resolve_key(name: str, settings: Settings, hook: Any = None) -> str | None:
    """The key ``name`` (``sqlite`` or ``columns``) from the first source that has it.

    ``hook`` is a pluggy hook relay (``registry.hook``); without it plugins are not asked.
    A plugin that raises becomes a :class:`ConfigurationError` naming neither the key nor
    the plugin's message (which could contain it).
    """
    slot = KEY_SLOTS[name]
    if hook is not None:
        try:
            provided: str | None = hook.storage_key(name=name, settings=settings)
        except Exception as exc:  # a provider's message may hold the secret: keep only its type
            raise ConfigurationError(
                f"the key provider plugin failed to supply the {name} key ({type(exc).__name__})",
                "check the key-provider plugin's configuration (aragora-storage plugins)",
            ) from None
        if provided:
            return provided
    file_name = settings.env.get(slot.file_variable, "").strip()
    if file_name and settings.env.get(slot.variable, "").strip():
        raise ConfigurationError(
            f"both {slot.variable} and {slot.file_variable} are set",
            f"unset one of them ({slot.file_variable} for a mounted secret)",
        )
    value = _environment_value(slot, settings)
    if value:
        return value
    return read_key_file(Path(file_name), slot) if file_name else None


def split_keys(value: str) -> tuple[str, ...]:
    """Fernet keys from one string: comma or newline separated, newest first."""
    return tuple(part.strip() for part in value.replace("\n", ",").split(",") if part.strip())


def with_keys(settings: Settings, hook: Any = None) -> Settings:
    """``settings`` with both keys filled from plugins, environment and key files."""
    sqlite_key = resolve_key(SQLITE_KEY.name, settings, hook)
    columns = resolve_key(COLUMNS_KEY.name, settings, hook)
    return replace(
        settings,
        sqlite_key=sqlite_key,
        encryption_keys=split_keys(columns) if columns else (),
    )
