"""Copy a backup file out of its backup, checking the bytes copied against the manifest."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from aragora_storage_core.backup.manifest import sha256_of_open
from aragora_storage_core.backup.types import BackupFile
from aragora_storage_core.errors import CorruptBackupError
from aragora_storage_core.files import FILE_MODE

_HINT = "use another backup (aragora-storage backup list)"


def copy_checked(source: Path, destination: Path, entry: BackupFile, *,
                 flush: bool = True) -> None:
    """Copy ``source`` to ``destination`` (``0600``) if the copy's bytes match ``entry``.

    The kernel copies the file (``shutil.copyfile``: no pass through Python), then the
    SHA-256 is taken of ``destination`` itself (from the page cache), so what is later put in
    place is exactly what the manifest describes, whatever happens to ``source`` meanwhile.
    On a size or digest mismatch ``destination`` is removed and
    :class:`CorruptBackupError` names ``source``. ``flush``: fsync ``destination`` before
    returning (``False``: the caller flushes it, e.g. while it copies the next file).
    """
    fd = os.open(destination, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    os.close(fd)
    try:
        shutil.copyfile(source, destination)
        with destination.open("rb") as copy:
            size = os.fstat(copy.fileno()).st_size
            digest = sha256_of_open(copy.fileno())
            if flush:
                os.fsync(copy.fileno())
    except BaseException:
        destination.unlink(missing_ok=True)
        raise
    if size != entry.size or digest != entry.sha256:
        destination.unlink(missing_ok=True)
        what = ("does not match its SHA-256" if size == entry.size
                else f"has {size} bytes, manifest says {entry.size}")
        raise CorruptBackupError(f"backup file {source} {what}", _HINT)

