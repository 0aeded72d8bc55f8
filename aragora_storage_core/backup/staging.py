"""Copy a backup file out of its backup, checking the bytes copied against the manifest."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from aragora_storage_core.backup.types import BackupFile
from aragora_storage_core.errors import CorruptBackupError
from aragora_storage_core.files import FILE_MODE

_CHUNK = 4 << 20
_HINT = "use another backup (aragora-storage backup list)"


def copy_checked(source: Path, destination: Path, entry: BackupFile, *,
                 flush: bool = True) -> None:
    """Copy ``source`` to ``destination`` (``0600``) if its bytes match ``entry``.

    The SHA-256 is taken of the very bytes written, in the same pass, so what lands in
    ``destination`` is exactly what the manifest describes (no window between a check and
    the copy, and the file is read once). On a size or digest mismatch ``destination`` is
    removed and :class:`CorruptBackupError` names ``source``. ``flush``: fsync
    ``destination`` before returning (``False``: the caller flushes it, e.g. while it
    copies the next file).
    """
    digest = hashlib.sha256()
    size = 0
    buffer = memoryview(bytearray(_CHUNK))
    fd = os.open(destination, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        with source.open("rb", buffering=0) as reader:
            while read := reader.readinto(buffer):
                chunk = buffer[:read]
                digest.update(chunk)
                _write_all(fd, chunk)
                size += read
        if flush:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        destination.unlink(missing_ok=True)
        raise
    os.close(fd)
    if size != entry.size or digest.hexdigest() != entry.sha256:
        destination.unlink(missing_ok=True)
        what = ("does not match its SHA-256" if size == entry.size
                else f"has {size} bytes, manifest says {entry.size}")
        raise CorruptBackupError(f"backup file {source} {what}", _HINT)


def _write_all(fd: int, data: memoryview) -> None:
    """``os.write`` until every byte of ``data`` is written."""
    while data:
        data = data[os.write(fd, data):]
