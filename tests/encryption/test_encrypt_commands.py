"""``aragora-storage encrypt``: encrypt in place, re-key, decrypt for export, status."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from aragora_storage_core.cli import main
from aragora_storage_core.encryption import convert
from aragora_storage_core.encryption.sqlcipher import DatabaseKey, is_encrypted_file
from aragora_storage_core.encryption.types import EncryptionAction, EncryptionRequest
from aragora_storage_core.errors import EncryptionError, WrongKeyError
from aragora_storage_core.models import User
from aragora_storage_core.progress import Progress
from aragora_storage_core.registry import Registry
from aragora_storage_core.sqlite.connection import connect

SENTINEL = "sentinel-c0ffee-plain-row"
NEW_PASSPHRASE = "the new \"passphrase\" isn't short"


@pytest.fixture
def plain_data(data_dir: Path) -> Path:
    """A plain legacy layout with 30 users (one carrying the sentinel) and a nomic db."""
    registry = Registry(env={"ARAGORA_DATA_DIR": str(data_dir)})
    users = registry.store("users")
    for n in range(30):
        users.create(User(id=f"u{n}", email=f"{SENTINEL}-{n}@example.com",
                          password_hash="h", password_salt="s"))
    registry.store("nomic_cycles")
    registry.close()
    return data_dir


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, encrypted_env: dict[str, str]) -> dict[str, str]:
    """The encrypted environment exported for in-process CLI runs."""
    for name, value in encrypted_env.items():
        monkeypatch.setenv(name, value)
    return encrypted_env


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_encrypt_converts_plain_files_in_place_and_keeps_every_row(
    plain_data: Path, cli_env: dict[str, str], file_bytes: Callable[[Path], bytes],
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["encrypt", "encrypt"]) == 0
    assert "encrypt: 2 file(s)" in capsys.readouterr().out
    assert sorted(p.name for p in plain_data.iterdir()) == ["nomic.db", "users.db"]
    assert all(is_encrypted_file(p) for p in plain_data.iterdir())
    assert SENTINEL.encode() not in file_bytes(plain_data)
    registry = Registry(env=cli_env)
    assert registry.store("users").count() == 30
    registry.close()


def test_encrypting_twice_has_nothing_to_do(
    plain_data: Path, cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["encrypt", "encrypt"]) == 0
    before = sha(plain_data / "users.db")
    assert main(["encrypt", "encrypt"]) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert sha(plain_data / "users.db") == before


def test_a_copy_that_fails_verification_leaves_the_original_untouched(
    plain_data: Path, cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    original = sha(plain_data / "users.db")
    real_counts = convert.row_counts
    calls: list[int] = []

    def lose_a_row_in_the_copy(conn: object) -> dict[str, int]:
        # Fault injection: the second count (of the encrypted copy) disagrees.
        counts = real_counts(conn)
        calls.append(1)
        return {**counts, "users": counts.get("users", 0) - 1} if len(calls) == 2 else counts

    monkeypatch.setattr(convert, "row_counts", lose_a_row_in_the_copy)
    with pytest.raises(EncryptionError, match="original is untouched"):
        convert.encrypt_file(plain_data / "users.db", DatabaseKey(cli_env["ARAGORA_SQLITE_KEY"]))
    assert sha(plain_data / "users.db") == original
    assert sorted(p.name for p in plain_data.iterdir()) == ["nomic.db", "users.db"]


def test_rekey_switches_to_the_new_key_from_a_file(
    plain_data: Path, cli_env: dict[str, str], tmp_path: Path, passphrase: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["encrypt", "encrypt"]) == 0
    key_file = tmp_path / "new-key"
    key_file.write_text(NEW_PASSPHRASE)
    os.chmod(key_file, 0o600)
    assert main(["encrypt", "rekey", "--new-key-file", str(key_file)]) == 0
    with pytest.raises(WrongKeyError):
        connect(plain_data / "users.db", key=DatabaseKey(passphrase))
    conn = connect(plain_data / "users.db", key=DatabaseKey(NEW_PASSPHRASE))
    assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == 30
    conn.close()
    output = capsys.readouterr()
    assert NEW_PASSPHRASE not in output.out + output.err
    assert passphrase not in output.out + output.err


def test_rekey_without_a_new_key_is_a_usage_error(
    plain_data: Path, cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["encrypt", "rekey"]) == 2
    assert "rekey needs the new key" in capsys.readouterr().err


def test_decrypt_writes_verified_plain_copies_and_keeps_the_originals_encrypted(
    plain_data: Path, cli_env: dict[str, str], tmp_path: Path
) -> None:
    assert main(["encrypt", "encrypt"]) == 0
    encrypted = sha(plain_data / "users.db")
    export = tmp_path / "export"
    assert main(["encrypt", "decrypt", "--to", str(export)]) == 0
    assert sha(plain_data / "users.db") == encrypted
    copy = export / "users.db"
    assert is_encrypted_file(copy) is False
    assert oct(copy.stat().st_mode & 0o777) == "0o600"
    assert SENTINEL.encode() in copy.read_bytes()
    assert main(["encrypt", "decrypt", "--to", str(export)]) == 1


def test_status_reports_each_file(
    plain_data: Path, cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["encrypt", "status"]) == 0
    assert "users.db: plain" in capsys.readouterr().out
    assert main(["encrypt", "encrypt"]) == 0
    capsys.readouterr()
    assert main(["encrypt", "status", "--json"]) == 0
    assert '"users.db": true' in capsys.readouterr().out


def test_encrypt_without_a_key_is_a_usage_error_and_changes_nothing(
    plain_data: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ARAGORA_DATA_DIR", str(plain_data))
    before = sha(plain_data / "users.db")
    assert main(["encrypt", "encrypt"]) == 2
    assert "no key" in capsys.readouterr().err
    assert sha(plain_data / "users.db") == before


def test_progress_shows_on_a_terminal_and_stays_quiet_when_piped(
    plain_data: Path, encrypted_env: dict[str, str], capsys: pytest.CaptureFixture[str],
    terminal: io.StringIO,
) -> None:
    registry = Registry(env=encrypted_env)
    registry.hook.storage_encrypt(
        backend=registry.active(),
        request=EncryptionRequest(EncryptionAction.ENCRYPT, progress=Progress("encrypt",
                                                                               stream=terminal)))
    assert "encrypt: 2/2 (100%)" in terminal.getvalue()
    registry.close()
    assert capsys.readouterr().err == ""


HOLDER = """
import sys, time
from aragora_storage_core.encryption.sqlcipher import DatabaseKey
from aragora_storage_core.sqlite.connection import connect
key = DatabaseKey(sys.argv[2]) if sys.argv[2] else None
conn = connect(sys.argv[1], create=False, key=key)
conn.execute("SELECT count(*) FROM users").fetchone()
print("open", flush=True)
time.sleep(600)
"""


@pytest.mark.parametrize("action", ["encrypt", "rekey"])
def test_converting_a_file_another_process_has_open_is_refused_and_changes_nothing(
    plain_data: Path, cli_env: dict[str, str], passphrase: str, action: str,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The other process (a running server) would go on writing to the replaced file (its
    writes lost) or write pages under the old key into the re-keyed one."""
    if action == "rekey":
        assert main(["encrypt", "encrypt"]) == 0
        monkeypatch.setenv("ARAGORA_SQLITE_NEW_KEY", NEW_PASSPHRASE)
    users = plain_data / "users.db"
    before = sha(users)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(users), passphrase if action == "rekey" else ""],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "open\n"
        capsys.readouterr()
        code = main(["encrypt", action])
    finally:
        holder.kill()
        holder.wait()
    assert code == 1
    err = capsys.readouterr().err
    assert f"{users} is open in another process" in err
    assert "stop every process using the data" in err
    assert sha(users) == before
    assert not [p.name for p in plain_data.iterdir() if p.name.endswith(".encrypting")]


@pytest.mark.parametrize("present", ["users.db", "nomic.db"])
def test_decrypt_into_a_directory_holding_one_of_the_copies_writes_nothing(
    plain_data: Path, cli_env: dict[str, str], tmp_path: Path, present: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["encrypt", "encrypt"]) == 0
    export = tmp_path / "export"
    export.mkdir()
    (export / present).write_text("an earlier export")
    capsys.readouterr()
    assert main(["encrypt", "decrypt", "--to", str(export)]) == 1
    assert "nothing was written" in capsys.readouterr().err
    assert sorted(p.name for p in export.iterdir()) == [present]
