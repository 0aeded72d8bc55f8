"""Health findings about SQLite files: permissions, integrity, journal mode, writability."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from aragora_storage_core.causes import disk_full, no_space
from aragora_storage_core.checks import Check, Level
from aragora_storage_core.errors import (
    DiskFullError,
    EncryptedDatabaseError,
    LockedError,
    NotWritableError,
    PlainDatabaseError,
    WrongKeyError,
)
from aragora_storage_core.layout import files_on_disk
from aragora_storage_core.sqlite.inspect import in_wal_mode, leftover_wal_bytes

if TYPE_CHECKING:
    from aragora_storage_sqlite.backend import SQLiteBackend


def layout_health(backend: SQLiteBackend) -> list[Check]:
    """Both legacy and consolidated files in the data directory with no mode set."""
    if backend.single_file or backend.settings.db_mode or backend.mode.value != "legacy":
        return []
    found = files_on_disk(backend.location)
    if not found.mixed:
        return []
    return [Check(
        "storage.W120", Level.WARNING,
        f"{backend.location} holds legacy files ({', '.join(found.legacy[:3])}, ...) and"
        f" consolidated ones ({', '.join(found.consolidated)}); ARAGORA_DB_MODE is unset,"
        " so the legacy files (the seed's default) are used",
        "say which is meant: export ARAGORA_DB_MODE=legacy, or after aragora-storage"
        " consolidate --verify, export ARAGORA_DB_MODE=consolidated")]


def file_health(backend: SQLiteBackend) -> list[Check]:
    """Journal mode, integrity and file permissions of every existing SQLite file."""
    checks: list[Check] = []
    for label, database, _ in backend.databases():
        path = Path(database.path)
        if not path.exists():
            continue
        leftover = leftover_wal_bytes(path)
        if leftover:
            checks.append(Check(
                "storage.W044", Level.WARNING,
                f"{path.name}-wal holds {leftover} bytes of committed writes not yet in"
                f" {path.name}: left by a process that stopped (doctor did not read them)",
                "the next command that opens it read-write folds them in:"
                " aragora-storage migrate --migrate"))
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            checks.append(Check(
                "storage.W040", Level.WARNING,
                f"{path} is readable by others (mode {mode:o})", f"chmod 600 {path}"))
        try:
            result = database.fetch_one("PRAGMA quick_check")
        except (WrongKeyError, EncryptedDatabaseError, PlainDatabaseError):
            # the file is fine; the key (or the encryption switch) is not: the latency
            # check already reported that cause under its own code (shown once by doctor)
            continue
        except (LockedError, NotWritableError, DiskFullError) as error:  # a cause, not damage
            checks.append(Check(error.code, Level.ERROR, error.message, error.hint))
            continue
        except Exception as exc:  # a corrupt file is a finding, not a crash
            checks.append(Check(
                "storage.E041", Level.ERROR, f"{label} cannot be read ({type(exc).__name__})",
                f"restore {path} from a backup: aragora-storage backup restore"))
            continue
        if result is None or result[0] != "ok":
            checks.append(Check(
                "storage.E041", Level.ERROR, f"{label} failed its integrity check",
                f"restore {path} from a backup: aragora-storage backup restore"))
        if in_wal_mode(path) is False:
            checks.append(Check(
                "storage.W042", Level.WARNING, f"{label} is not in WAL mode",
                "the next command that opens it read-write sets it:"
                " aragora-storage migrate --migrate"))
    problem = _unwritable(backend)
    if problem:
        checks.append(Check("storage.E043", Level.ERROR, problem,
                            "fix its permissions or point ARAGORA_DATA_DIR elsewhere"))
    elif str(backend.location) != ":memory:":
        directory = backend.location.parent if backend.single_file else backend.location
        if directory.is_dir() and no_space(directory):  # the next write would fail
            full = disk_full(directory)
            checks.append(Check(full.code, Level.ERROR, full.message, full.hint))
    return checks


def _unwritable(backend: SQLiteBackend) -> str | None:
    """Why the backend's files could not be created or written there, or ``None``.

    A directory not made yet is fine when its nearest existing ancestor is a writable
    directory (``migrate`` creates the rest).
    """
    if str(backend.location) == ":memory:":
        return None
    directory = backend.location.parent if backend.single_file else backend.location
    existing = directory
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is not a directory (needed for {directory})"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} is not writable"
    return None
