"""Create the project's files and directories private to their owner (0600 / 0700)."""

from __future__ import annotations

import os
from pathlib import Path

from aragora_storage_core.errors import ConfigurationError

FILE_MODE = 0o600
DIR_MODE = 0o700


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) as ``0700``; explain clearly when that is impossible."""
    if path.is_dir():
        if not os.access(path, os.W_OK | os.X_OK):
            raise ConfigurationError(
                f"data directory {path} is not writable",
                f"fix its permissions (chmod u+rwx {path}) or point ARAGORA_DATA_DIR elsewhere",
            )
        return path
    try:
        path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        path.chmod(DIR_MODE)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot create data directory {path}: {exc.strerror}",
            "point ARAGORA_DATA_DIR at a writable directory",
        ) from None
    return path


def ensure_private_file(path: Path) -> Path:
    """Create ``path`` empty as ``0600`` if it does not exist; never truncate it."""
    if path.exists():
        return path
    ensure_private_dir(path.parent)
    try:
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, FILE_MODE)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot create {path}: {exc.strerror}",
            "point ARAGORA_DATA_DIR at a writable directory",
        ) from None
    os.close(fd)
    os.chmod(path, FILE_MODE)
    return path
