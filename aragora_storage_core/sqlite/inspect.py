"""Open a SQLite file to look at it without changing a byte (``doctor``).

A read-only (``mode=ro``) connection is not enough: on a WAL database it creates the
``-wal``/``-shm`` files when they are missing, and it rebuilds the ``-shm`` index after a
writer was killed. So a file no process has open is read ``immutable`` (the main file
only, no ``-wal``/``-shm`` touched); a file another process has open is read ``mode=ro``,
sharing that process's ``-shm`` as any reader does, to see its latest commits.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from aragora_storage_core.encryption.sqlcipher import DatabaseKey
from aragora_storage_core.errors import LockedError
from aragora_storage_core.records import dataclass
from aragora_storage_core.sqlite.connection import connect_readonly

#: Byte of the ``-shm`` file every connection to a WAL database holds a shared lock on
#: while it has the database open (SQLite's unix VFS: ``UNIX_SHM_DMS``).
_SHM_DMS = 128
#: The kernel's table of file locks (Linux).
_LOCK_TABLE = "/proc/locks"


def companion(path: Path, suffix: str) -> Path:
    """``users.db`` -> ``users.db-wal`` (``suffix`` ``"-wal"``) or ``users.db-shm``."""
    return path.with_name(path.name + suffix)


@dataclass(frozen=True)
class FileLock:
    """One POSIX lock the kernel lists on a file: ``WRITE`` or ``READ``, holder, byte range."""

    kind: str
    pid: int
    start: int
    end: int | None

    def covers(self, offset: int) -> bool:
        """True when the lock includes byte ``offset``."""
        return self.start <= offset and (self.end is None or offset <= self.end)


def locks_on(path: Path) -> list[FileLock] | None:
    """Every POSIX lock on ``path`` from the kernel's table; ``None`` when it is not readable.

    Read from ``/proc/locks`` rather than probed: probing needs a descriptor of the file,
    and closing it would drop this process's own SQLite locks on it.
    """
    try:
        info = path.stat()
        table = Path(_LOCK_TABLE).read_text(encoding="ascii", errors="replace")
    except FileNotFoundError:
        return []
    except OSError:
        return None
    device = f"{os.major(info.st_dev):02x}:{os.minor(info.st_dev):02x}:{info.st_ino}"
    found = []
    for line in table.splitlines():
        fields = [f for f in line.split() if f != "->"]
        if len(fields) >= 8 and fields[5] == device and fields[4].isdigit():
            end = None if fields[7] == "EOF" else int(fields[7])
            found.append(FileLock(fields[3], int(fields[4]), int(fields[6]), end))
    return found


def in_use(path: Path) -> bool:
    """True while a process (this one too) has the database ``path`` open.

    A WAL connection holds a shared lock on one byte of the ``-shm`` file while it has
    the database open; a rollback-journal connection locks the file itself while it reads
    or writes. Without the kernel's lock table (not Linux) a ``-shm`` that exists counts
    as in use, which only costs the leftover-``-wal`` finding.
    """
    shm = locks_on(companion(path, "-shm"))
    if shm is None:
        return companion(path, "-shm").exists()
    return any(lock.covers(_SHM_DMS) for lock in shm) or bool(locks_on(path))


def writer_of(path: Path) -> int | None:
    """The pid of a process writing ``path`` outside WAL (holding a write lock on it)."""
    return next((lock.pid for lock in locks_on(path) or () if lock.kind == "WRITE"), None)


def leftover_wal_bytes(path: Path) -> int:
    """Size of a ``-wal`` left with commits in it by a process that stopped (else 0)."""
    wal = companion(path, "-wal")
    size = wal.stat().st_size if wal.is_file() else 0
    return size if size and not in_use(path) else 0


def in_wal_mode(path: Path) -> bool | None:
    """Whether the header of ``path`` says WAL mode; ``None`` when unreadable (encrypted).

    Read from the file, since an ``immutable`` connection reports its own journal mode.
    """
    with path.open("rb") as handle:
        header = handle.read(20)
    if not header.startswith(b"SQLite format 3\x00") or len(header) < 20:
        return None
    return header[18] == 2


def connect_to_inspect(path: Path, timeout: float = 30.0, *,
                       key: DatabaseKey | None = None) -> sqlite3.Connection:
    """A read-only connection to ``path`` whose use and close change no file.

    A leftover ``-wal`` (see :func:`leftover_wal_bytes`) is not read: its commits are not
    seen, and the caller reports it. A file another process is writing outside WAL raises
    :class:`LockedError` at once, naming that process: reading it would wait, or see a
    half-written state.
    """
    writer = writer_of(path)
    if writer is not None:
        raise LockedError(f"{path.name} is locked by another process writing it (pid {writer})",
                          "run this again when that process is done, or stop it")
    return connect_readonly(path, timeout, immutable=not in_use(path), key=key)
