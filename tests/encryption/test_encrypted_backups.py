"""Backups of encrypted SQLite databases stay encrypted and restore with the same key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlcipher3 import dbapi2

from aragora_storage_core.backup.create import create_backup
from aragora_storage_core.backup.restore import restore_backup
from aragora_storage_core.backup.verify import verify_backup
from aragora_storage_core.encryption.sqlcipher import is_encrypted_file
from aragora_storage_core.encryption.types import EncryptionAction, EncryptionRequest
from aragora_storage_core.errors import CorruptBackupError, WrongKeyError
from aragora_storage_core.models import User
from aragora_storage_core.registry import Registry

SENTINEL = "sentinel-backup-5e11-plain"


def test_backup_of_an_encrypted_database_is_encrypted_and_restores(
    encrypted_env: dict[str, str], tmp_path: Path, file_bytes: Callable[[Path], bytes]
) -> None:
    registry = Registry(env=encrypted_env)
    users = registry.store("users")
    users.create(User(id="u1", email=f"{SENTINEL}@example.com", password_hash="h",
                      password_salt="s"))
    backend = registry.active()
    directory, manifest = create_backup(registry.hook, backend, tmp_path / "backups")
    copies = [directory / entry.name for entry in manifest.files]
    assert copies and all(is_encrypted_file(path) for path in copies)
    assert SENTINEL.encode() not in file_bytes(directory)
    verify_backup(directory)

    users.delete("u1")
    restore_backup(registry.hook, backend, directory)
    assert registry.store("users").get_by_id("u1") is not None
    registry.close()


def test_a_backup_file_opens_with_the_passphrase_in_any_sqlcipher_tool(
    encrypted_env: dict[str, str], tmp_path: Path
) -> None:
    registry = Registry(env={**encrypted_env, "ARAGORA_SQLITE_KEY": "simple-passphrase-123456"})
    registry.store("users").create(User(id="u1", email="a@example.com", password_hash="h",
                                        password_salt="s"))
    directory, _ = create_backup(registry.hook, registry.active(), tmp_path / "backups")
    registry.close()
    tool = dbapi2.connect(str(directory / "users.db"))
    tool.execute("PRAGMA key = 'simple-passphrase-123456'")
    assert tool.execute("SELECT email FROM users").fetchall() == [("a@example.com",)]
    tool.close()


def test_restoring_a_backup_made_with_an_older_key_is_refused_and_changes_nothing(
    encrypted_env: dict[str, str], tmp_path: Path
) -> None:
    """After a re-key, an older backup needs its own key: restoring must not swap in a
    file the configured key cannot open (the application would then fail to start)."""
    old = Registry(env=encrypted_env)
    old.store("users").create(User(id="u1", email="a@example.com", password_hash="h",
                                   password_salt="s"))
    directory, _ = create_backup(old.hook, old.active(), tmp_path / "backups")
    old.close()
    new_key = "the key after the re-key, long enough"
    rekey = EncryptionRequest(EncryptionAction.REKEY, new_key=new_key)
    rekeying = Registry(env=encrypted_env)
    rekeying.hook.storage_encrypt(backend=rekeying.active(), request=rekey)
    rekeying.close()
    current = Registry(env={**encrypted_env, "ARAGORA_SQLITE_KEY": new_key})
    current.store("users").create(User(id="u2", email="b@example.com", password_hash="h",
                                       password_salt="s"))
    with pytest.raises(WrongKeyError) as caught:
        restore_backup(current.hook, current.active(), directory)
    assert "nothing was restored" in caught.value.message
    assert new_key not in str(caught.value)
    assert current.store("users").get_by_id("u2") is not None
    current.close()
    data_dir = Path(encrypted_env["ARAGORA_DATA_DIR"])
    assert not [p.name for p in data_dir.iterdir() if "restoring" in p.name]


def test_an_encrypted_backup_records_its_check_and_is_refused_once_altered(
    encrypted_env: dict[str, str], tmp_path: Path
) -> None:
    """The integrity check of an encrypted file needs the key, so it runs when the backup
    is made (recorded in the manifest); restore then compares the digest of what it
    copies, and a changed byte is refused with the live data left as it was."""
    registry = Registry(env=encrypted_env)
    registry.store("users").create(User(id="u1", email="a@example.com", password_hash="h",
                                        password_salt="s"))
    backend = registry.active()
    directory, manifest = create_backup(registry.hook, backend, tmp_path / "backups")
    assert {entry.checked for entry in manifest.files} == {"integrity_check"}
    registry.store("users").delete("u1")
    altered = directory / manifest.files[0].name
    data = bytearray(altered.read_bytes())
    data[len(data) // 2] ^= 0x01
    altered.write_bytes(bytes(data))
    with pytest.raises(CorruptBackupError, match="does not match its SHA-256"):
        restore_backup(registry.hook, backend, directory)
    assert registry.store("users").get_by_id("u1") is None
    registry.close()
    data_dir = Path(encrypted_env["ARAGORA_DATA_DIR"])
    assert not [p.name for p in data_dir.iterdir() if "restoring" in p.name]
