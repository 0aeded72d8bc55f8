"""Keys never appear in any command's output, in logs, or in error messages."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from aragora_storage_core.cli import main
from aragora_storage_core.models import User, Webhook
from aragora_storage_core.registry import Registry

COLUMN_KEY = Fernet.generate_key().decode()
NEW_SQLITE_KEY = "the replacement sqlite 'key' 9876543210"


def test_no_command_prints_or_logs_a_key(
    encrypted_env: dict[str, str], passphrase: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture, tmp_path: Path,
) -> None:
    env = {**encrypted_env, "ARAGORA_ENCRYPTION_KEY": COLUMN_KEY}
    registry = Registry(env=env)
    registry.store("users").create(User(id="u1", email="a@example.com", password_hash="h",
                                        password_salt="s"))
    registry.store("webhooks").create(Webhook("w1", "org", "https://x.test", "secret"))
    registry.close()
    for name, value in {**env, "ARAGORA_SQLITE_NEW_KEY": NEW_SQLITE_KEY}.items():
        monkeypatch.setenv(name, value)
    caplog.set_level(logging.DEBUG)
    codes = [
        main(["doctor", "-v"]),
        main(["doctor", "--json", "-v"]),
        main(["plugins"]),
        main(["encrypt", "status", "--json"]),
        main(["encrypt", "rotate-columns", "--json"]),
        main(["encrypt", "decrypt", "--to", str(tmp_path / "export")]),
        main(["encrypt", "rekey"]),
    ]
    monkeypatch.setenv("ARAGORA_SQLITE_KEY", "a wrong key that must not be shown")
    codes.append(main(["migrate", "--status"]))
    shown = capsys.readouterr()
    everything = shown.out + shown.err + caplog.text
    assert codes[:7] == [0] * 7 and codes[7] != 0
    for secret in (passphrase, COLUMN_KEY, NEW_SQLITE_KEY, "a wrong key that must not be shown"):
        assert secret not in everything
    assert "cannot be opened with the key from ARAGORA_SQLITE_KEY" in shown.err
