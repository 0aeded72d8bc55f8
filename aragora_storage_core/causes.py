"""Name the root cause of an operating-system condition that stopped an operation.

A read-only directory, a full disk: drivers report these in their own words ("unable to
open database file", ``OSError``) that callers would otherwise read as damage. Each is
turned into one typed error naming the place and the fix; anything else is left alone.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from aragora_storage_core.errors import DiskFullError, NotWritableError, StorageError

_FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
_DENIED = (errno.EROFS, errno.EACCES, errno.EPERM)
#: SQLite's words for a file it could not open or write, whatever the reason.
_SQLITE_IO = ("readonly", "read-only", "unable to open", "disk i/o error")


def disk_full(where: Path | str) -> DiskFullError:
    """The error for a write that found no space on the device holding ``where``."""
    return DiskFullError(f"no space left on the device holding {where}",
                         "free space there, or move the data (ARAGORA_DATA_DIR, --dir) to a"
                         " disk with room; nothing partial was kept")


def not_writable(where: Path | str) -> NotWritableError:
    """The error for ``where`` (a file or directory) that cannot be written."""
    return NotWritableError(f"{where} is not writable (read-only file system or permissions)",
                            "make it writable, or point ARAGORA_DATA_DIR at a writable"
                            " directory")


def _unwritable_place(path: Path) -> Path | None:
    """``path``'s directory or ``path`` itself when this process may not write it."""
    directory = path.parent
    if directory.is_dir() and not os.access(directory, os.W_OK | os.X_OK):
        return directory
    if path.exists() and not os.access(path, os.W_OK):
        return path
    return None


def root_cause(error: BaseException, path: Path | str | None = None) -> StorageError | None:
    """The typed error naming why ``error`` happened (on ``path``), or ``None`` if not known.

    Knows a full disk and an unwritable place, whether reported as ``OSError`` or by
    SQLite's message; never reads the error's text into the result (it may quote input).
    """
    if isinstance(error, OSError) and error.errno is not None:
        where = error.filename or path or "the data directory"
        if error.errno in _FULL:
            return disk_full(where)
        if error.errno in _DENIED:
            return not_writable(where)
        return None
    text = str(error).lower()
    target = Path(path) if path is not None else None
    if "disk is full" in text:
        return disk_full(target.parent if target else "the data directory")
    if target is None or not any(words in text for words in _SQLITE_IO):
        return None
    if no_space(target.parent):  # SQLite says "disk I/O error" when no -shm fits
        return disk_full(target.parent)
    place = _unwritable_place(target)
    return not_writable(place) if place is not None else None


def no_space(directory: Path) -> bool:
    """Whether the device holding ``directory`` has no block left for this process."""
    try:
        return os.statvfs(directory).f_bavail == 0
    except OSError:
        return False
