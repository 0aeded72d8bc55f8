"""SQLite files in backups: copy with the online backup API, check, and swap into place.

Shared by the SQLite backend's backup hooks and by consolidation, so both copy, check and
replace SQLite files the same way.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

from aragora_storage_core.encryption.sqlcipher import SQLITE_MAGIC, DatabaseKey
from aragora_storage_core.errors import (
    BackupError,
    CorruptBackupError,
    CorruptDatabaseError,
    EncryptedDatabaseError,
)
from aragora_storage_core.files import (
    FILE_MODE,
    ensure_private_file,
    fsync_path,
    swap_into_place,
)
from aragora_storage_core.sqlite.connection import connect, connect_readonly


def is_sqlite_file(path: Path) -> bool:
    """True when ``path`` starts with the SQLite header (plain, not encrypted, SQLite)."""
    with path.open("rb") as handle:
        return handle.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC


def open_source(path: Path, timeout: float = 30.0, *, immutable: bool = False,
                key: DatabaseKey | None = None) -> sqlite3.Connection:
    """Open a database to copy from read-only (:func:`connect_readonly`).

    A file whose rollback-journal writer was killed mid-transaction (a hot ``-journal``)
    cannot be read without a rollback, which a read-only connection may not do: that is
    said as such, with how to roll it back, instead of calling the file unusable.
    """
    try:
        return connect_readonly(path, timeout, immutable=immutable, key=key)
    except CorruptDatabaseError as error:
        journal = path.with_name(path.name + "-journal")
        if isinstance(error, EncryptedDatabaseError) or not journal.exists():
            raise
        raise CorruptDatabaseError(
            f"{path} has an unfinished transaction: {journal.name} was left by a process"
            " that stopped",
            "let SQLite roll it back by opening it once read-write: python3 -c \"import"
            f" sqlite3; sqlite3.connect('{path}').execute('PRAGMA integrity_check')\"",
        ) from None


def backup_file(source: Path, destination: Path, timeout: float = 30.0,
                key: DatabaseKey | None = None) -> None:
    """Copy the live database ``source`` to a new ``destination`` in one backup step.

    The source is opened read-only, so it is never modified (no pragma, no checkpoint),
    and the copy is one consistent snapshot including committed ``-wal`` content, even
    while other processes write. The copy is a single self-contained file (rollback
    journal mode), mode ``0600``, flushed to disk. With ``key`` (SQLCipher) the copy is
    encrypted with the same passphrase, under a salt of its own.

    A quiet plain database (nothing in its ``-wal``) is copied byte for byte under the
    read transaction that pins it, about twice as fast as SQLite's page-by-page backup;
    any other is copied by the online backup API.

    The copy, as written, then passes ``PRAGMA integrity_check`` (opened with ``key``), or
    is removed and :class:`CorruptDatabaseError` names ``source`` as damaged: a manifest
    may record that check for exactly these bytes (``INTEGRITY_CHECK``).
    """
    src = open_source(source, timeout, key=key)
    try:
        if key is None and _copy_if_quiet(src, source, destination):
            _to_rollback_journal(destination, timeout)
        else:
            _copy_by_backup_api(src, destination, timeout, key)
    finally:
        src.close()
    os.chmod(destination, FILE_MODE)
    fsync_path(destination)
    copy = connect_readonly(destination, timeout, immutable=True, key=key)
    try:
        refuse_damaged(copy, source)
    except CorruptDatabaseError:
        destination.unlink(missing_ok=True)
        raise
    finally:
        copy.close()


def refuse_damaged(conn: sqlite3.Connection, path: Path) -> None:
    """Raise :class:`CorruptDatabaseError` when ``PRAGMA integrity_check`` on ``conn`` fails.

    ``conn`` is ``path`` or a copy of it. A damaged file copied into a backup gives a
    backup that ``verify`` rejects and that would not restore. The same check as
    ``verify`` (:func:`check_integrity`): ``quick_check`` misses an index out of step
    with its table.
    """
    try:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
    except sqlite3.DatabaseError as exc:
        rows = [(str(exc),)]
    if rows != [("ok",)]:
        problem = next(line for line in str(rows[0][0]).splitlines()
                       if not line.startswith("***"))
        raise CorruptDatabaseError(
            f"{path} is damaged ({problem}): a backup of it would not restore",
            f"keep the earlier backups (aragora-storage backup list); salvage its rows with:"
            f" sqlite3 {path} .recover",
        )


def _copy_if_quiet(src: sqlite3.Connection, source: Path, destination: Path) -> bool:
    """Copy ``source``'s bytes while ``src`` holds a read transaction, if its WAL is empty.

    With the read transaction open and no WAL frames in its snapshot, no other process can
    change the file's bytes until it ends: writers append to the WAL, whose frames no
    checkpoint may copy into the file past this reader (WAL mode), or cannot commit at
    all (rollback-journal mode). The byte copy is then exactly the snapshot.
    """
    src.execute("BEGIN")
    try:
        src.execute("SELECT count(*) FROM sqlite_master").fetchone()
        wal = source.with_name(source.name + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            return False
        ensure_private_file(destination)
        shutil.copyfile(source, destination)
        return True
    finally:
        src.execute("ROLLBACK")


def _to_rollback_journal(destination: Path, timeout: float) -> None:
    """Make a copied file self-contained (rollback-journal mode, no ``-wal``/``-shm``)."""
    copy = sqlite3.connect(destination, timeout=timeout, isolation_level=None)
    try:
        copy.execute("PRAGMA journal_mode = DELETE")
    finally:
        copy.close()


def _copy_by_backup_api(src: sqlite3.Connection, destination: Path, timeout: float,
                        key: DatabaseKey | None) -> None:
    """Copy page by page with SQLite's online backup API (any source, any writers)."""
    # A new private file: no journal while it is written (a killed backup has no
    # manifest, so a torn copy never counts); flushed once by the caller.
    dest = connect(destination, timeout, key=key, journal_mode="OFF")
    try:
        dest.execute("PRAGMA synchronous = OFF")
        src.backup(dest)
        dest.execute("PRAGMA journal_mode = DELETE")
    finally:
        dest.close()


def schema_versions(path: Path, key: DatabaseKey | None = None) -> dict[str, int]:
    """``{logical database: highest applied version}`` recorded inside the file at ``path``."""
    conn = connect_readonly(path, immutable=True, key=key)
    try:
        found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table'"
                             " AND name = 'schema_version'").fetchone()
        if found is None:
            return {}
        rows = conn.execute("SELECT database, max(version) FROM schema_version"
                            " GROUP BY database").fetchall()
    finally:
        conn.close()
    return {str(db): int(version) for db, version in rows}


def check_integrity(path: Path) -> None:
    """Run ``PRAGMA integrity_check`` on a backup file; :class:`CorruptBackupError` if not ok."""
    try:
        conn = connect_readonly(path, immutable=True)
        try:
            result = conn.execute("PRAGMA integrity_check").fetchone()
        finally:
            conn.close()
    except (sqlite3.DatabaseError, CorruptDatabaseError):
        result = None
    if result is None or result[0] != "ok":
        raise CorruptBackupError(f"backup file {path} fails its integrity check",
                                 "use another backup (aragora-storage backup list)")


#: Seconds a restore waits for a transaction of another process to end before refusing.
IN_USE_WAIT = 2.0


def quiesce(target: Path, key: DatabaseKey | None = None, wait: float = IN_USE_WAIT) -> None:
    """Fold ``target``'s WAL into it, refusing when another process has it open.

    An exclusive lock in SQLite's exclusive locking mode cannot be taken while any other
    connection (even an idle one) has a WAL database open, so a running server is found
    here, before anything is replaced. Raises :class:`BackupError` naming the file.
    The journal mode is left as it is: a file not in WAL mode is not changed at all, so a
    process killed before the swap leaves it as it was.
    """
    if not target.exists():
        return
    live = connect(target, wait, create=False, key=key, journal_mode=None)
    try:
        live.execute("PRAGMA locking_mode = EXCLUSIVE")
        try:
            live.execute("BEGIN EXCLUSIVE")
        except live.OperationalError:
            raise BackupError(f"{target} is open in another process",
                              "stop every process using the data (the server), then restore"
                              ) from None
        live.execute("COMMIT")
        live.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        live.close()


def replace_database(staged: Path, target: Path, timeout: float = 30.0,
                     key: DatabaseKey | None = None, *, sync_dir: bool = True) -> None:
    """Move the complete file ``staged`` over the database ``target`` atomically.

    The live database is checked unused and its WAL checkpointed into it (:func:`quiesce`),
    then its ``-wal``/``-shm`` files are removed so no stale WAL can be replayed onto the
    new file; the rename is the single step that switches contents. ``sync_dir``: as in
    :func:`swap_into_place`.
    """
    quiesce(target, key, min(timeout, IN_USE_WAIT))
    os.chmod(staged, FILE_MODE)
    swap_into_place(staged, target, sync_dir=sync_dir)
