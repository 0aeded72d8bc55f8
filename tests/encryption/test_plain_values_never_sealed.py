"""A plain value that looks sealed is never mistaken for a sealed one (issue 10 item 4).

A webhook secret starting with ``fernet:`` stored with column encryption off used to
fail on read (``ColumnKeyError``) and stop ``encrypt rotate-columns`` for the table.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from aragora_storage_core.cli import main
from aragora_storage_core.encryption.fernet import FernetColumns, key_id
from aragora_storage_core.models import Webhook
from aragora_storage_core.registry import Registry

KEY = Fernet.generate_key().decode()
#: A real sealed value, as a user might paste one as a secret.
SEALED_LOOKING = FernetColumns([Fernet.generate_key().decode()]).encrypt("webhooks", "secret",
                                                                         "x")
LOOKALIKES = ["fernet:abc:def", "fernet:", "fernet:12345678:gAAAAAnot-a-token",
              SEALED_LOOKING, "plain:fernet:abc:def", "plain:"]


def registry_with(data_dir: Path, keys: str | None) -> Registry:
    env = {"ARAGORA_DATA_DIR": str(data_dir)}
    if keys:
        env["ARAGORA_ENCRYPTION_KEY"] = keys
    return Registry(env=env)


def write(data_dir: Path, keys: str | None, secrets: list[str]) -> None:
    registry = registry_with(data_dir, keys)
    for n, secret in enumerate(secrets):
        registry.store("webhooks").create(Webhook(f"w{n}", "org", "https://x.test", secret))
    registry.close()


def read(data_dir: Path, keys: str | None, count: int) -> list[str | None]:
    registry = registry_with(data_dir, keys)
    try:
        return [registry.store("webhooks").get(f"w{n}").secret for n in range(count)]
    finally:
        registry.close()


def test_plain_secrets_that_look_sealed_read_back_as_given(data_dir: Path) -> None:
    write(data_dir, None, LOOKALIKES)
    assert read(data_dir, None, len(LOOKALIKES)) == LOOKALIKES
    assert read(data_dir, KEY, len(LOOKALIKES)) == LOOKALIKES


def test_rotate_columns_seals_lookalikes_instead_of_stopping(
        data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(data_dir, None, LOOKALIKES)
    monkeypatch.setenv("ARAGORA_DATA_DIR", str(data_dir))
    monkeypatch.setenv("ARAGORA_ENCRYPTION_KEY", KEY)
    assert main(["encrypt", "rotate-columns"]) == 0
    conn = sqlite3.connect(data_dir / "users.db")
    stored = [row[0] for row in conn.execute("SELECT secret FROM webhooks ORDER BY id")]
    conn.close()
    assert all(s.startswith(f"fernet:{key_id(KEY)}:") for s in stored)
    assert read(data_dir, KEY, len(LOOKALIKES)) == LOOKALIKES


def test_lookalikes_stored_raw_by_an_older_version_still_read_as_given(
        data_dir: Path) -> None:
    write(data_dir, None, ["placeholder"])
    conn = sqlite3.connect(data_dir / "users.db")
    conn.execute("UPDATE webhooks SET secret = 'fernet:abc:def' WHERE id = 'w0'")
    conn.commit()
    conn.close()
    assert read(data_dir, None, 1) == ["fernet:abc:def"]
    assert read(data_dir, KEY, 1) == ["fernet:abc:def"]
