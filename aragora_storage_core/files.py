"""Files on disk: created private (0600 / 0700), written and swapped durably, WAL companions."""

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


#: Files SQLite keeps beside a database file.
COMPANIONS = ("-wal", "-shm", "-journal")


def remove_companions(path: Path) -> None:
    """Delete ``path``'s ``-wal``, ``-shm`` and ``-journal`` files, if any."""
    for suffix in COMPANIONS:
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def remove_with_companions(path: Path) -> None:
    """Delete the database file ``path`` and its companion files, if any."""
    path.unlink(missing_ok=True)
    remove_companions(path)


def fsync_path(path: Path) -> None:
    """Flush a file or directory to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def swap_into_place(staged: Path, target: Path, *, sync_dir: bool = True) -> None:
    """Rename the complete file ``staged`` over ``target`` as the one switching step.

    ``target``'s companions go first, so no stale WAL can be replayed onto the new file;
    the caller makes sure no process has ``target`` open. ``sync_dir=False`` leaves
    flushing the directory (making the rename durable) to the caller, who swaps several
    files and flushes their directory once.
    """
    fsync_path(staged)
    remove_companions(target)
    os.replace(staged, target)
    if sync_dir:
        fsync_path(target.parent)
    remove_companions(staged)


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` (``0600``) so a reader sees the old file or the whole new one.

    Temp file beside it, fsync, rename, fsync of the directory: a crash never leaves a
    half-written ``path``.
    """
    temp = path.with_name(f".{path.name}.tmp")
    fd = os.open(temp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, FILE_MODE)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp, path)
    fsync_path(path.parent)
