"""Each root cause is one line naming it; nothing else claims damage (issue 10 item 8).

A read-only data directory made ``doctor`` print 32 "corrupt, restore from a backup"
errors; a full disk gave ``unexpected OSError``. The conditions are made for real: a
tmpfs mounted read-only, a tmpfs filled to its last byte (both need root to mount), a
process holding a lock, an encrypted file without its key.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.sqlite.test_doctor_read_only import PASSPHRASE, add_user

DAMAGE_WORDS = ("damaged", "corrupt", "restore", "not a usable")


def can_mount() -> bool:
    return os.geteuid() == 0 and shutil.which("mount") is not None


# Off CI a developer without root skips these; in CI they run, and fail if mounting fails.
needs_mount = pytest.mark.skipif(not can_mount() and not IN_CI,
                                 reason="fault injection needs root to mount a tmpfs")


@contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``path`` for the block; unmounted after."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs",
                    str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def cli(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "aragora_storage_core", *args],
                          env={**os.environ, **env}, cwd=cwd, capture_output=True,
                          text=True, check=False, timeout=120)


def errors_of(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stdout.splitlines() if " ERROR: " in line]


def fill(directory: Path) -> None:
    """Fault: write until the device holding ``directory`` has no byte left."""
    with (directory / "filler").open("wb", buffering=0) as handle, \
            pytest.raises(OSError) as raised:
        while True:
            handle.write(b"\0" * 4096)
    assert raised.value.errno == errno.ENOSPC
    assert os.statvfs(directory).f_bavail == 0


@needs_mount
def test_a_read_only_data_directory_is_one_line_and_never_called_damaged(
        tmp_path: Path) -> None:
    with tmpfs(tmp_path / "data", "8m") as data:
        env = {"ARAGORA_DATA_DIR": str(data)}
        add_user(env)
        subprocess.run(["mount", "-o", "remount,ro", str(data)], check=True)
        doctor = cli(env, tmp_path, "doctor")
        assert errors_of(doctor) == [f"storage.E043 ERROR: {data} is not writable"]
        migrate = cli(env, tmp_path, "migrate", "--migrate")
        assert migrate.returncode == 1
        assert migrate.stderr.splitlines()[0] == (
            f"error: {data} is not writable (read-only file system or permissions)")
        for output in (doctor.stdout, migrate.stderr):
            assert not any(word in output for word in DAMAGE_WORDS), output


@needs_mount
def test_a_full_disk_is_one_line_naming_it(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "data", "1m") as data:
        env = {"ARAGORA_DATA_DIR": str(data)}
        add_user(env)
        fill(data)
        migrate = cli(env, tmp_path, "migrate", "--migrate")
        assert migrate.returncode == 1
        assert migrate.stderr.splitlines()[0] == (
            f"error: no space left on the device holding {data}")
        with tmpfs(tmp_path / "backups", "64k") as backups:
            fill(backups)
            backup = cli(env, tmp_path, "backup", "create", "--dir", str(backups))
        assert backup.returncode == 1
        assert backup.stderr.splitlines()[0].startswith("error: no space left on the device")
        doctor = cli(env, tmp_path, "doctor")
        assert errors_of(doctor) == [
            f"storage.E022 ERROR: no space left on the device holding {data}"]
        for output in (migrate.stderr, backup.stderr, doctor.stdout):
            assert "unexpected" not in output
            assert not any(word in output for word in DAMAGE_WORDS), output


HOLD_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA locking_mode = EXCLUSIVE")
conn.execute("BEGIN EXCLUSIVE")
conn.execute("UPDATE users SET name = 'being written'")
print("locked", flush=True)
time.sleep(600)
"""


def test_a_database_locked_by_another_process_is_one_finding_naming_it(
        tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {"ARAGORA_DATA_DIR": str(data)}
    add_user(env)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(data / "users.db")],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        doctor = cli(env, tmp_path, "doctor")
    finally:
        holder.kill()
        holder.wait()
    assert errors_of(doctor) == [
        f"storage.E023 ERROR: users.db is locked by another process writing it"
        f" (pid {holder.pid})"]
    assert not any(word in doctor.stdout for word in DAMAGE_WORDS)


def test_a_missing_key_is_one_finding_naming_it(tmp_path: Path) -> None:
    pytest.importorskip("sqlcipher3")
    data = tmp_path / "data"
    add_user({"ARAGORA_DATA_DIR": str(data), "ARAGORA_SQLITE_ENCRYPTION": "1",
              "ARAGORA_SQLITE_KEY": PASSPHRASE})
    doctor = cli({"ARAGORA_DATA_DIR": str(data), "ARAGORA_SQLITE_ENCRYPTION": "1"},
                 tmp_path, "doctor")
    assert errors_of(doctor) == [
        "storage.E070 ERROR: SQLite encryption is requested but no key is set"]
    assert not any(word in doctor.stdout for word in DAMAGE_WORDS)
