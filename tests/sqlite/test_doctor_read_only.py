"""``doctor`` changes no byte: every file hashed (and the tree listed) before and after.

Issue 10 item 3: doctor used to checkpoint a ``-wal`` left by a killed writer into the
database and delete the ``-wal``/``-shm``, reporting nothing.
"""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from aragora_storage_core.models import User
from aragora_storage_core.registry import Registry
from aragora_storage_core.stores.protocols import StoreKind

PASSPHRASE = "doctor test passphrase, long enough"


def tree(root: Path) -> dict[str, str]:
    """Every directory and file under ``root``: kind, mode and (files) SHA-256."""
    found = {}
    for path in sorted(root.rglob("*")):
        mode = oct(path.stat().st_mode)
        if path.is_dir():
            found[str(path.relative_to(root))] = f"dir {mode}"
        else:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            found[str(path.relative_to(root))] = f"file {mode} {digest}"
    return found


def add_user(env: dict[str, str]) -> None:
    registry = Registry(env=env)
    registry.store(StoreKind.USERS).create(User(id="u1", email="a@example.com",
                                                password_hash="h", password_salt="s"))
    registry.close()


KILLED_WRITER = """
import os, signal, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("UPDATE users SET name = 'only in the wal'")
os.kill(os.getpid(), signal.SIGKILL)
"""


def fresh(data: Path, env: dict[str, str]) -> None:
    """Nothing there yet: doctor must not even create the directory."""


def migrated(data: Path, env: dict[str, str]) -> None:
    add_user(env)


def leftover_wal(data: Path, env: dict[str, str]) -> None:
    add_user(env)
    killed = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(data / "users.db")],
                            check=False)
    assert killed.returncode == -signal.SIGKILL
    assert (data / "users.db-wal").stat().st_size > 0


def encrypted(data: Path, env: dict[str, str]) -> None:
    pytest.importorskip("sqlcipher3")
    env.update(ARAGORA_SQLITE_ENCRYPTION="1", ARAGORA_SQLITE_KEY=PASSPHRASE)
    add_user(env)


def damaged(data: Path, env: dict[str, str]) -> None:
    add_user(env)
    path = data / "users.db"
    content = bytearray(path.read_bytes())
    for offset in range(len(content) // 2, len(content) // 2 + 64):
        content[offset] ^= 0xFF
    path.write_bytes(bytes(content))


def unmigrated(data: Path, env: dict[str, str]) -> None:
    data.mkdir(mode=0o700)
    conn = sqlite3.connect(data / "users.db")
    conn.execute("CREATE TABLE users (id TEXT PRIMARY KEY, email TEXT)")
    conn.execute("INSERT INTO users VALUES ('u1', 'a@example.com')")
    conn.commit()
    conn.close()


STATES: list[Callable[[Path, dict[str, str]], None]] = [
    fresh, migrated, leftover_wal, encrypted, damaged, unmigrated]


def run_doctor(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "aragora_storage_core", "doctor"],
                          env={**os.environ, **env}, cwd=cwd, capture_output=True,
                          text=True, check=False)


@pytest.mark.parametrize("state", STATES, ids=[s.__name__ for s in STATES])
def test_doctor_changes_no_byte(state: Callable[[Path, dict[str, str]], None],
                                tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {"ARAGORA_DATA_DIR": str(data)}
    state(data, env)
    before = tree(tmp_path)
    result = run_doctor(env, tmp_path)
    assert "Traceback" not in result.stderr, result.stderr
    assert tree(tmp_path) == before


def test_doctor_reports_a_leftover_wal_instead_of_folding_it_in(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {"ARAGORA_DATA_DIR": str(data)}
    leftover_wal(data, env)
    wal = (data / "users.db-wal").stat().st_size
    result = run_doctor(env, tmp_path)
    assert (f"storage.W044 WARNING: users.db-wal holds {wal} bytes of committed writes not"
            " yet in users.db: left by a process that stopped") in result.stdout
    assert "ERROR" not in result.stdout and "W042" not in result.stdout
    assert (data / "users.db-wal").stat().st_size == wal
