"""Fernet column encryption: sensitive columns sealed at rest, typed errors for wrong keys."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from aragora_storage_core.columns import PlainColumns, column_cipher
from aragora_storage_core.encryption.fernet import FernetColumns, key_id
from aragora_storage_core.errors import ColumnKeyError, ConfigurationError
from aragora_storage_core.models import Webhook
from aragora_storage_core.registry import Registry
from aragora_storage_core.settings import Settings

SECRET = "whsec-sentinel-4b1d-do-not-store-plain"
OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def registry_with(data_dir: Path, keys: str | None) -> Registry:
    env = {"ARAGORA_DATA_DIR": str(data_dir)}
    if keys is not None:
        env["ARAGORA_ENCRYPTION_KEY"] = keys
    return Registry(env=env)


def write_hook(data_dir: Path, keys: str | None, hook_id: str = "w1") -> None:
    registry = registry_with(data_dir, keys)
    registry.store("webhooks").create(Webhook(hook_id, "org1", "https://x.test", SECRET))
    registry.close()


def read_hook(data_dir: Path, keys: str | None, hook_id: str = "w1") -> Webhook:
    registry = registry_with(data_dir, keys)
    try:
        hook: Webhook = registry.store("webhooks").get(hook_id)
        return hook
    finally:
        registry.close()


def raw_secret(data_dir: Path, hook_id: str = "w1") -> str:
    import sqlite3

    conn = sqlite3.connect(data_dir / "users.db")
    try:
        return str(conn.execute("SELECT secret FROM webhooks WHERE id = ?", (hook_id,))
                   .fetchone()[0])
    finally:
        conn.close()


def test_webhook_secret_is_sealed_at_rest_and_read_back_plain(
    data_dir: Path, file_bytes: Callable[[Path], bytes]
) -> None:
    write_hook(data_dir, NEW_KEY)
    assert raw_secret(data_dir).startswith(f"fernet:{key_id(NEW_KEY)}:")
    assert SECRET.encode() not in file_bytes(data_dir)
    assert read_hook(data_dir, NEW_KEY).secret == SECRET


def test_older_keys_listed_after_the_new_one_still_read(data_dir: Path) -> None:
    write_hook(data_dir, OLD_KEY)
    assert read_hook(data_dir, f"{NEW_KEY},{OLD_KEY}").secret == SECRET


def test_retired_key_raises_an_error_naming_the_column_and_key_id(data_dir: Path) -> None:
    write_hook(data_dir, OLD_KEY)
    with pytest.raises(ColumnKeyError) as caught:
        read_hook(data_dir, NEW_KEY)
    text = str(caught.value)
    assert "webhooks.secret" in text and key_id(OLD_KEY) in text
    assert OLD_KEY not in text and NEW_KEY not in text


def test_sealed_value_read_without_any_key_raises_instead_of_returning_ciphertext(
    data_dir: Path,
) -> None:
    write_hook(data_dir, NEW_KEY)
    with pytest.raises(ColumnKeyError, match="ARAGORA_ENCRYPTION_KEY is not set"):
        read_hook(data_dir, None)


def test_altered_ciphertext_raises_instead_of_returning_none() -> None:
    cipher = FernetColumns([NEW_KEY])
    sealed = cipher.encrypt("webhooks", "secret", SECRET)
    tampered = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]
    with pytest.raises(ColumnKeyError, match="fails authentication"):
        cipher.decrypt("webhooks", "secret", tampered)


def test_values_written_before_encryption_was_enabled_still_read(data_dir: Path) -> None:
    write_hook(data_dir, None)
    assert raw_secret(data_dir) == SECRET
    assert read_hook(data_dir, NEW_KEY).secret == SECRET


def test_an_invalid_fernet_key_is_a_configuration_error_that_hides_it() -> None:
    bad = "not-a-fernet-key-but-a-secret-anyway"
    with pytest.raises(ConfigurationError) as caught:
        column_cipher(Settings.from_env({"ARAGORA_ENCRYPTION_KEY": f"{NEW_KEY},{bad}"}))
    assert "entry 2" in str(caught.value)
    assert bad not in str(caught.value) and NEW_KEY not in str(caught.value)


def test_cipher_repr_shows_key_ids_only() -> None:
    cipher = FernetColumns([NEW_KEY, OLD_KEY])
    assert NEW_KEY not in repr(cipher) and OLD_KEY not in repr(cipher)
    assert key_id(NEW_KEY) in repr(cipher)


def test_every_sql_backend_gets_the_cipher_from_settings(data_dir: Path) -> None:
    assert isinstance(registry_with(data_dir, None).active().cipher, PlainColumns)
    assert isinstance(registry_with(data_dir, NEW_KEY).active().cipher, FernetColumns)


def test_cryptography_is_imported_only_when_column_keys_are_configured(
    data_dir: Path,
) -> None:
    code = (
        "import sys\n"
        "from aragora_storage_core.registry import Registry\n"
        f"r = Registry(env={{'ARAGORA_DATA_DIR': {str(data_dir)!r}}})\n"
        "r.store('webhooks')\n"
        "print('cryptography' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
