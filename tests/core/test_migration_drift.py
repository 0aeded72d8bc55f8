"""Checksum drift: what the message shows, line endings, and ``migrate --repair``."""

from __future__ import annotations

import hashlib
import os
import pty
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from aragora_storage_core.cli import main
from aragora_storage_core.errors import ChecksumMismatchError
from aragora_storage_core.migrations.engine import Migrator
from aragora_storage_core.migrations.files import ROOT
from aragora_storage_core.sqlite.database import SQLiteDatabase

SQL = "CREATE TABLE a (id INTEGER PRIMARY KEY);\n-- a comment\nCREATE TABLE b (id INTEGER);\n"
USERS_FILE = ROOT / "users" / "001_initial.sql"


def migrator(db: Path, root: Path) -> Migrator:
    return Migrator(SQLiteDatabase(db), "demo", db.name, root)


def recorded(db: Path, database: str = "demo") -> dict[int, str]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT version, checksum FROM schema_version WHERE database=?",
                                 (database,)).fetchall())


@pytest.fixture
def applied(tmp_path: Path) -> tuple[Path, Path]:
    """A demo migration applied with ``\\n`` line endings: (database, migration file)."""
    path = tmp_path / "migrations" / "demo" / "001_first.sql"
    path.parent.mkdir(parents=True)
    path.write_bytes(SQL.encode())
    db = tmp_path / "demo.db"
    assert migrator(db, path.parent.parent).migrate().ran == ["001_first"]
    return db, path


def test_a_change_of_line_endings_only_is_not_drift(applied: tuple[Path, Path]) -> None:
    db, path = applied
    for endings in (b"\r\n", b"\r"):
        path.write_bytes(SQL.encode().replace(b"\n", endings))
        status = migrator(db, path.parent.parent).status()
        assert status.changed == [] and status.pending == []


def test_a_file_recorded_with_crlf_bytes_matches_its_lf_checkout(
        applied: tuple[Path, Path]) -> None:
    db, path = applied
    crlf = hashlib.sha256(SQL.replace("\n", "\r\n").encode()).hexdigest()
    with sqlite3.connect(db) as conn:  # as recorded before line endings were normalised
        conn.execute("UPDATE schema_version SET checksum = ?", (crlf,))
    assert migrator(db, path.parent.parent).status().changed == []


def test_drift_names_the_version_and_both_checksums(applied: tuple[Path, Path]) -> None:
    db, path = applied
    before = recorded(db)[1]
    path.write_text(SQL.replace("-- a comment", "-- an edited comment"))
    now = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(ChecksumMismatchError) as caught:
        migrator(db, path.parent.parent).migrate()
    message = caught.value.message
    assert "demo/001_first.sql changed after it was applied" in message
    assert "version 001" in message
    assert f"recorded checksum {before[:16]}" in message and f"now has {now[:16]}" in message
    assert "migrate --repair --db demo" in caught.value.hint


def test_repair_records_the_current_checksum_and_runs_nothing(
        applied: tuple[Path, Path]) -> None:
    db, path = applied
    path.write_text(SQL.replace("-- a comment", "-- an edited comment"))
    status = migrator(db, path.parent.parent).repair()
    assert status.ran == ["001_first"] and status.changed == []
    assert recorded(db)[1] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert migrator(db, path.parent.parent).migrate().ran == []


def _edit_users_checksum(data_dir: Path) -> Path:
    db = data_dir / "users.db"
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE schema_version SET checksum = 'edited' WHERE version = 1")
    return db


def test_repair_needs_yes_when_not_on_a_terminal(
        capsys: pytest.CaptureFixture[str], clean_environment: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["migrate", "--migrate", "--db", "users"]) == 0
    db = _edit_users_checksum(clean_environment / ".nomic")
    monkeypatch.setattr(sys, "stdin", open(os.devnull))  # noqa: SIM115 - not a terminal
    capsys.readouterr()
    assert main(["migrate", "--repair", "--db", "users"]) == 2
    out, err = capsys.readouterr()
    assert "users/001_initial.sql changed after it was applied (version 001" in out
    assert "add --yes to confirm" in err
    assert recorded(db, "users")[1] == "edited"
    assert main(["migrate", "--repair", "--db", "users", "--yes"]) == 0
    assert "recorded the current checksum of: 001_initial" in capsys.readouterr().out
    assert recorded(db, "users")[1] == hashlib.sha256(
        USERS_FILE.read_bytes().replace(b"\r\n", b"\n")).hexdigest()
    assert main(["migrate", "--migrate"]) == 0


def test_repair_needs_a_database_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--repair", "--yes"]) == 1
    assert "--repair needs --db NAME" in capsys.readouterr().err


@pytest.mark.parametrize(("answer", "code", "kept"), [(b"y\n", 0, False), (b"n\n", 1, True)])
def test_repair_asks_on_a_terminal(answer: bytes, code: int, kept: bool,
                                   clean_environment: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--migrate", "--db", "users"]) == 0
    db = _edit_users_checksum(clean_environment / ".nomic")
    controller, terminal = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARAGORA_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "aragora_storage_core", "migrate", "--repair", "--db", "users"],
        stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=clean_environment,
        env=env)
    os.close(terminal)
    os.write(controller, answer)
    out, err = process.communicate(timeout=60)
    os.close(controller)
    assert process.returncode == code, err
    assert b"changed after it was applied (version 001" in out
    assert (recorded(db, "users")[1] == "edited") is kept
