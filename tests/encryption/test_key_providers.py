"""Keys from the environment, from a key file (mounted secret), or from a plugin's hook."""

from __future__ import annotations

import logging
import os
import types
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from aragora_storage_core import hookimpl
from aragora_storage_core.cli import main
from aragora_storage_core.encryption.fernet import FernetColumns, key_id
from aragora_storage_core.encryption.keys import resolve_key
from aragora_storage_core.encryption.sqlcipher import DatabaseKey, is_encrypted_file
from aragora_storage_core.errors import ConfigurationError, WrongKeyError
from aragora_storage_core.models import User
from aragora_storage_core.registry import Registry
from aragora_storage_core.settings import Settings
from aragora_storage_core.sqlite.connection import connect


def secret_file(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text + "\n")
    os.chmod(path, mode)
    return path


def _user() -> User:
    return User(id="u1", email="a@example.com", password_hash="h", password_salt="s")


def test_sqlite_key_from_a_mounted_secret_file_encrypts_the_database(
    data_dir: Path, tmp_path: Path, passphrase: str
) -> None:
    key_file = secret_file(tmp_path / "sqlite-key", passphrase)
    registry = Registry(env={"ARAGORA_DATA_DIR": str(data_dir), "ARAGORA_SQLITE_ENCRYPTION": "1",
                             "ARAGORA_SQLITE_KEY_FILE": str(key_file)})
    registry.store("users").create(_user())
    registry.close()
    assert is_encrypted_file(data_dir / "users.db")
    connect(data_dir / "users.db", key=DatabaseKey(passphrase)).close()


def test_a_key_file_readable_by_others_is_warned_about_without_the_key(
    tmp_path: Path, passphrase: str, caplog: pytest.LogCaptureFixture
) -> None:
    key_file = secret_file(tmp_path / "sqlite-key", passphrase, mode=0o644)
    settings = Settings.from_env({"ARAGORA_SQLITE_KEY_FILE": str(key_file)})
    with caplog.at_level(logging.WARNING, logger="aragora_storage.encryption"):
        assert resolve_key("sqlite", settings) == passphrase
    assert "chmod 600" in caplog.text and "644" in caplog.text
    assert passphrase not in caplog.text


def test_key_in_both_the_environment_and_a_file_is_refused(
    tmp_path: Path, passphrase: str
) -> None:
    key_file = secret_file(tmp_path / "sqlite-key", passphrase)
    settings = Settings.from_env({"ARAGORA_SQLITE_KEY": passphrase,
                                  "ARAGORA_SQLITE_KEY_FILE": str(key_file)})
    with pytest.raises(ConfigurationError, match="both ARAGORA_SQLITE_KEY and"):
        resolve_key("sqlite", settings)


def test_missing_key_file_is_a_clear_error(tmp_path: Path) -> None:
    settings = Settings.from_env({"ARAGORA_SQLITE_KEY_FILE": str(tmp_path / "absent")})
    with pytest.raises(ConfigurationError, match="cannot read ARAGORA_SQLITE_KEY_FILE"):
        resolve_key("sqlite", settings)


def test_a_binary_key_file_is_one_clear_error_showing_no_byte_of_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``head -c 32 /dev/urandom > key`` is not text: say so, without a traceback that
    quotes the byte it could not decode."""
    raw = bytes([0xDF, 0xFF, 0x00, 0x9C]) + os.urandom(28)
    key_file = tmp_path / "sqlite-key"
    key_file.write_bytes(raw)
    os.chmod(key_file, 0o600)
    monkeypatch.setenv("ARAGORA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ARAGORA_SQLITE_ENCRYPTION", "1")
    monkeypatch.setenv("ARAGORA_SQLITE_KEY_FILE", str(key_file))
    assert main(["migrate", "--migrate"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: ARAGORA_SQLITE_KEY_FILE file {key_file} is not UTF-8 text")
    assert "0xdf" not in err.lower() and "Traceback" not in err
    assert not (tmp_path / "data" / "users.db").exists()


def test_a_sqlite_key_that_is_not_utf8_is_one_clear_error_showing_no_byte_of_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Raw bytes in the variable reach Python as surrogate escapes (``\\udcff``)."""
    monkeypatch.setenv("ARAGORA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ARAGORA_SQLITE_ENCRYPTION", "1")
    monkeypatch.setenv("ARAGORA_SQLITE_KEY", "abc\udcffdefghijklmnopqrstuvw")
    assert main(["migrate", "--migrate"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the SQLCipher key from ARAGORA_SQLITE_KEY is not UTF-8 text")
    assert "udcff" not in err and "0xff" not in err and "Traceback" not in err


def test_column_keys_from_a_file_one_per_line_newest_first(tmp_path: Path) -> None:
    new, old = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    key_file = secret_file(tmp_path / "column-keys", f"{new}\n{old}")
    registry = Registry(env={"ARAGORA_DATA_DIR": str(tmp_path / "d"),
                             "ARAGORA_ENCRYPTION_KEY_FILE": str(key_file)})
    cipher = registry.active().cipher
    assert isinstance(cipher, FernetColumns)
    assert [k.id for k in cipher.keys] == [key_id(new), key_id(old)]


def key_provider(keys: dict[str, str]) -> types.ModuleType:
    """A plugin module implementing ``storage_key`` from an in-memory 'secret manager'."""
    plugin = types.ModuleType("test_secret_manager_plugin")

    @hookimpl
    def storage_key(name: str) -> str | None:
        return keys.get(name)

    plugin.storage_key = storage_key  # type: ignore[attr-defined]
    return plugin


def test_a_plugin_supplies_the_sqlite_key_through_the_storage_key_hook(
    data_dir: Path, passphrase: str
) -> None:
    registry = Registry(env={"ARAGORA_DATA_DIR": str(data_dir), "ARAGORA_SQLITE_ENCRYPTION": "1"})
    registry.host.pm.register(key_provider({"sqlite": passphrase}))
    registry.store("users").create(_user())
    registry.close()
    assert is_encrypted_file(data_dir / "users.db")
    connect(data_dir / "users.db", key=DatabaseKey(passphrase)).close()
    with pytest.raises(WrongKeyError):
        connect(data_dir / "users.db", key=DatabaseKey("not the plugin's key"))


def test_a_plugin_key_wins_over_the_environment(data_dir: Path, passphrase: str) -> None:
    column_key = Fernet.generate_key().decode()
    registry = Registry(env={"ARAGORA_DATA_DIR": str(data_dir),
                             "ARAGORA_ENCRYPTION_KEY": Fernet.generate_key().decode()})
    registry.host.pm.register(key_provider({"columns": column_key}))
    cipher = registry.active().cipher
    assert isinstance(cipher, FernetColumns) and cipher.primary.id == key_id(column_key)


def test_a_failing_key_provider_is_reported_without_its_message(
    data_dir: Path, passphrase: str
) -> None:
    plugin = types.ModuleType("broken_secret_manager")

    @hookimpl
    def storage_key(name: str) -> str | None:
        raise RuntimeError(f"vault said no for token {passphrase}")

    plugin.storage_key = storage_key  # type: ignore[attr-defined]
    registry = Registry(env={"ARAGORA_DATA_DIR": str(data_dir), "ARAGORA_SQLITE_ENCRYPTION": "1"})
    registry.host.pm.register(plugin)
    with pytest.raises(ConfigurationError) as caught:
        registry.store("users")
    assert "RuntimeError" in str(caught.value) and passphrase not in str(caught.value)


def test_a_wrong_key_from_a_file_names_the_file_variable(
    data_dir: Path, tmp_path: Path, passphrase: str
) -> None:
    connect(data_dir / "users.db", key=DatabaseKey(passphrase)).close()
    key_file = secret_file(tmp_path / "sqlite-key", "a different key in the mounted secret")
    registry = Registry(env={"ARAGORA_DATA_DIR": str(data_dir), "ARAGORA_SQLITE_ENCRYPTION": "1",
                             "ARAGORA_SQLITE_KEY_FILE": str(key_file)})
    with pytest.raises(WrongKeyError, match="key from ARAGORA_SQLITE_KEY_FILE"):
        registry.store("users")
    registry.close()
