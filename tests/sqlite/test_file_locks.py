"""Opening another connection never drops the SQLite locks this process already holds.

POSIX advisory locks belong to the process: closing ANY descriptor of a database file
releases every lock the process holds on it, including those of SQLite connections that
are still open ("How To Corrupt An SQLite Database File", section 2.2). A process whose
shared lock is gone looks absent to the others: the last of them to close checkpoints and
deletes the WAL this process is still writing into, and those writes are lost.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from aragora_storage_core.encryption.sqlcipher import DatabaseKey
from aragora_storage_core.sqlite.connection import connect_readonly
from aragora_storage_core.sqlite.database import SQLiteDatabase

#: Opens the database and closes it: the last connection to close removes the WAL.
_OTHER_PROCESS = "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); " \
                 "c.execute('SELECT count(*) FROM t').fetchone(); c.close()"


def _open_in_new_thread(database: SQLiteDatabase) -> None:
    thread = threading.Thread(target=database.connection)
    thread.start()
    thread.join()


def _open_read_only_and_close(database: SQLiteDatabase) -> None:
    connect_readonly(database.path).close()


@pytest.mark.parametrize("open_another", [_open_in_new_thread, _open_read_only_and_close])
def test_another_connection_keeps_the_first_connections_lock(
        tmp_path: Path, open_another: Callable[[SQLiteDatabase], None]) -> None:
    path = tmp_path / "locks.db"
    database = SQLiteDatabase(path)
    with database.transaction() as tx:
        tx.execute("CREATE TABLE t (n INTEGER)")
        tx.execute("INSERT INTO t VALUES (1)")
    open_another(database)
    subprocess.run([sys.executable, "-c", _OTHER_PROCESS, str(path)], check=True)
    assert path.with_name("locks.db-wal").exists(), "another process took this one for gone"
    with database.transaction() as tx:
        tx.execute("INSERT INTO t VALUES (2)")
    database.close()
    reader = sqlite3.connect(path)
    assert reader.execute("SELECT count(*) FROM t").fetchone() == (2,)
    reader.close()


#: Prints whether some process holds SQLite's shared lock bytes of the file (F_GETLK).
_LOCK_QUERY = """
import fcntl, os, struct, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
probe = struct.pack("hhqqi", fcntl.F_WRLCK, 0, 0x40000002, 510, 0)
print("held" if struct.unpack("hhqqi", fcntl.fcntl(fd, fcntl.F_GETLK, probe))[0]
      != fcntl.F_UNLCK else "free")
"""


def test_an_encrypted_database_keeps_its_lock_when_another_thread_connects(
        tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    database = SQLiteDatabase(path, key=DatabaseKey("a passphrase", "the test"))
    with database.transaction() as tx:
        tx.execute("CREATE TABLE t (n INTEGER)")
    _open_in_new_thread(database)
    query = subprocess.run([sys.executable, "-c", _LOCK_QUERY, str(path)], check=True,
                           capture_output=True, text=True)
    assert query.stdout.strip() == "held"
    database.close()
