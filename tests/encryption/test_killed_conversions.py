"""``aragora-storage encrypt`` killed (SIGKILL) at a given step, then run again: no data lost.

Each re-run is the real ``aragora-storage`` command. To kill the first run at an exact
step rather than after a guessed delay, it is started through :data:`KILL_AT`, which
replaces one function with one that SIGKILLs the process: a fault the real command cannot
produce on demand.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from aragora_storage_core.encryption.sqlcipher import DatabaseKey, is_encrypted_file
from aragora_storage_core.errors import WrongKeyError
from aragora_storage_core.models import User, Webhook
from aragora_storage_core.registry import Registry
from aragora_storage_core.sqlite.connection import connect

NEW_PASSPHRASE = "the new \"passphrase\" isn't short"
ROWS = 40

#: Runs the CLI with ``module:name`` or ``module:Class.name`` (``argv[1]``) replaced by a
#: SIGKILL of this very process.
KILL_AT = """
import importlib, os, signal, sys
from aragora_storage_core.cli import main
module, _, path = sys.argv[1].partition(":")
*owners, name = path.split(".")
target = importlib.import_module(module)
for owner in owners:
    target = getattr(target, owner)
setattr(target, name, lambda *args, **kwargs: os.kill(os.getpid(), signal.SIGKILL))
sys.exit(main(sys.argv[2:]))
"""
CONVERT = "aragora_storage_core.encryption.convert"


@pytest.fixture
def env(encrypted_env: dict[str, str]) -> dict[str, str]:
    """The process environment of the commands: encrypted SQLite, old and new key."""
    return {**os.environ, **encrypted_env, "ARAGORA_SQLITE_NEW_KEY": NEW_PASSPHRASE}


@pytest.fixture
def encrypted_data(encrypted_registry: Registry, data_dir: Path) -> Path:
    """An encrypted legacy layout holding ``ROWS`` users."""
    users = encrypted_registry.store("users")
    users.create_many(User(id=f"u{n}", email=f"u{n}@example.com", password_hash="h",
                           password_salt="s") for n in range(ROWS))
    encrypted_registry.close()
    return data_dir


def killed_at(step: str, env: dict[str, str], *args: str) -> None:
    """Run ``aragora-storage ARGS`` and SIGKILL it when it calls ``step`` (module:name)."""
    run = subprocess.run([sys.executable, "-c", KILL_AT, step, *args], env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == -signal.SIGKILL, run.stderr


def aragora_storage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run the real ``aragora-storage`` command."""
    command = Path(sys.executable).with_name("aragora-storage")
    return subprocess.run([str(command), *args], env=env, capture_output=True, text=True,
                          timeout=120)


def users_with(path: Path, passphrase: str) -> int:
    """How many users ``path`` holds when opened with ``passphrase`` (checked intact)."""
    conn = connect(path, create=False, key=DatabaseKey(passphrase))
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return int(conn.execute("SELECT count(*) FROM users").fetchone()[0])
    finally:
        conn.close()


def test_rekey_killed_after_the_new_key_committed_is_finished_by_a_re_run(
        encrypted_data: Path, env: dict[str, str], passphrase: str) -> None:
    killed_at(f"{CONVERT}:_verify", env, "encrypt", "rekey")
    users = encrypted_data / "users.db"
    assert users_with(users, NEW_PASSPHRASE) == ROWS
    with pytest.raises(WrongKeyError):
        users_with(users, passphrase)
    again = aragora_storage(env, "encrypt", "rekey")
    assert again.returncode == 0, again.stderr
    assert users_with(users, NEW_PASSPHRASE) == ROWS
    shown = again.stdout + again.stderr
    assert passphrase not in shown and NEW_PASSPHRASE not in shown


def test_decrypt_killed_before_the_copy_is_verified_leaves_no_readable_plain_copy(
        encrypted_data: Path, env: dict[str, str], tmp_path: Path) -> None:
    export = tmp_path / "export"
    export.mkdir(mode=0o755)
    export.chmod(0o755)
    # The first os.chmod of the run comes once the plain copy is written, not yet verified.
    killed_at("os:chmod", env, "encrypt", "decrypt", "--to", str(export))
    staged = export / "users.db.decrypting"
    assert staged.stat().st_size > 0
    for left in export.iterdir():
        assert stat.S_IMODE(left.stat().st_mode) & 0o077 == 0, left.name
    again = aragora_storage(env, "encrypt", "decrypt", "--to", str(export))
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in export.iterdir()) == ["users.db"]
    assert stat.S_IMODE((export / "users.db").stat().st_mode) == 0o600
    assert is_encrypted_file(encrypted_data / "users.db")


def test_encrypt_killed_before_the_swap_leaves_the_plain_original_and_a_re_run_finishes(
        data_dir: Path, env: dict[str, str], passphrase: str) -> None:
    plain = Registry(env={"ARAGORA_DATA_DIR": str(data_dir)})
    plain.store("users").create_many(User(id=f"u{n}", email=f"u{n}@example.com",
                                          password_hash="h", password_salt="s")
                                     for n in range(ROWS))
    plain.close()
    killed_at(f"{CONVERT}:swap_into_place", env, "encrypt", "encrypt")
    users = data_dir / "users.db"
    assert is_encrypted_file(users) is False
    again = aragora_storage(env, "encrypt", "encrypt")
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in data_dir.iterdir()) == ["users.db"]
    assert users_with(users, passphrase) == ROWS


def test_column_rotation_killed_after_a_batch_is_finished_by_a_re_run(
        env: dict[str, str]) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed = Registry(env={**env, "ARAGORA_ENCRYPTION_KEY": old})
    for n in range(ROWS):
        sealed.store("webhooks").create(Webhook(f"w{n:03d}", "org", "https://x.test", f"s{n}"))
    sealed.close()
    rotating = {**env, "ARAGORA_ENCRYPTION_KEY": f"{new},{old}"}
    # Progress advances once a batch's transaction has committed.
    killed_at("aragora_storage_core.progress:Progress.advance", rotating,
              "encrypt", "rotate-columns", "--batch-size", "7")
    again = aragora_storage(rotating, "encrypt", "rotate-columns", "--batch-size", "7",
                            "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["resealed"] == {"webhooks.secret": ROWS - 7}
    only_new = Registry(env={**env, "ARAGORA_ENCRYPTION_KEY": new})
    secrets = sorted(h.secret or "" for h in only_new.store("webhooks").list_for_org("org"))
    only_new.close()
    assert secrets == sorted(f"s{n}" for n in range(ROWS))
    assert old not in again.stdout + again.stderr and new not in again.stdout + again.stderr
