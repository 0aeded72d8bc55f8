"""``backup_file``: a quiet database is copied byte for byte, a busy one page by page;
either way the copy is one consistent, self-contained snapshot."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from aragora_storage_core.backup.sqlite import backup_file

#: Moves value from table ``a`` (first page) to ``b`` (last page) in one transaction:
#: every consistent snapshot sums to 1000; a torn copy does not.
_WRITER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
conn.execute("PRAGMA journal_mode = " + sys.argv[2])
conn.execute("PRAGMA synchronous = OFF")
deadline = time.monotonic() + float(sys.argv[3])
print("ready", flush=True)
while time.monotonic() < deadline:
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("UPDATE a SET v = v - 1")
    conn.execute("UPDATE b SET v = v + 1")
    conn.execute("COMMIT")
"""


def _make(path: Path, journal_mode: str) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA journal_mode = {journal_mode}")
    conn.execute("CREATE TABLE a (v INTEGER)")
    conn.execute("INSERT INTO a VALUES (1000)")
    conn.execute("CREATE TABLE filler (x TEXT)")
    conn.executemany("INSERT INTO filler VALUES (?)", [("x" * 500,)] * 6000)
    conn.execute("CREATE TABLE b (v INTEGER)")
    conn.execute("INSERT INTO b VALUES (0)")
    conn.close()


def _check(copy: Path) -> None:
    assert not copy.with_name(copy.name + "-wal").exists()
    conn = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        total = conn.execute("SELECT (SELECT v FROM a) + (SELECT v FROM b)").fetchone()
        assert total == (1000,)
        assert conn.execute("SELECT count(*) FROM filler").fetchone() == (6000,)
    finally:
        conn.close()


def test_a_quiet_database_is_copied_byte_for_byte_and_left_untouched(tmp_path: Path) -> None:
    source = tmp_path / "quiet.db"
    _make(source, "DELETE")
    before = source.read_bytes()
    backup_file(source, tmp_path / "copy.db")
    assert (tmp_path / "copy.db").read_bytes() == before
    assert source.read_bytes() == before
    assert (tmp_path / "copy.db").stat().st_mode & 0o777 == 0o600
    _check(tmp_path / "copy.db")


def test_a_quiet_wal_database_copy_is_self_contained(tmp_path: Path) -> None:
    source = tmp_path / "wal.db"
    _make(source, "WAL")  # closed: checkpointed, no -wal left
    backup_file(source, tmp_path / "copy.db")
    _check(tmp_path / "copy.db")


def _backups_while_writing(tmp_path: Path, journal_mode: str) -> None:
    source = tmp_path / f"busy-{journal_mode}.db"
    _make(source, journal_mode)
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(source), journal_mode, "3"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None and writer.stdout.readline() == "ready\n"
        for n in range(10):
            copy = tmp_path / f"copy-{journal_mode}-{n}.db"
            backup_file(source, copy)
            _check(copy)
            time.sleep(0.02)
    finally:
        writer.wait(30)
    assert writer.returncode == 0


def test_backups_while_a_rollback_journal_writer_runs_are_consistent(tmp_path: Path) -> None:
    _backups_while_writing(tmp_path, "DELETE")


def test_backups_while_a_wal_writer_runs_are_consistent(tmp_path: Path) -> None:
    _backups_while_writing(tmp_path, "WAL")
