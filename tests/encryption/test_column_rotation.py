"""Column key rotation: batches, resumable after a kill, ends on the new key alone."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from aragora_storage_core.cli import main
from aragora_storage_core.encryption.fernet import key_id
from aragora_storage_core.encryption.rotation import rotate_columns
from aragora_storage_core.errors import EncryptionUnavailableError
from aragora_storage_core.models import Webhook
from aragora_storage_core.progress import Progress
from aragora_storage_core.registry import Registry

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
HOOKS = 25


def registry_with(data_dir: Path, keys: str | None) -> Registry:
    env = {"ARAGORA_DATA_DIR": str(data_dir)}
    if keys:
        env["ARAGORA_ENCRYPTION_KEY"] = keys
    return Registry(env=env)


@pytest.fixture
def old_data(data_dir: Path) -> Path:
    """One webhook written before encryption, then 25 sealed with the old key."""
    plain = registry_with(data_dir, None)
    plain.store("webhooks").create(Webhook("legacy", "org", "https://x.test", "legacy-secret"))
    plain.close()
    registry = registry_with(data_dir, OLD_KEY)
    hooks = registry.store("webhooks")
    for n in range(HOOKS):
        hooks.create(Webhook(f"w{n:02d}", "org", "https://x.test", f"secret-{n}"))
    registry.close()
    return data_dir


def key_ids_on_disk(data_dir: Path) -> set[str]:
    conn = sqlite3.connect(data_dir / "users.db")
    try:
        rows = conn.execute("SELECT secret FROM webhooks").fetchall()
    finally:
        conn.close()
    return {row[0].split(":")[1] if row[0].startswith("fernet:") else "plain" for row in rows}


class KilledAfterFirstBatch(Progress):
    """Fault injection: the process is interrupted right after the first batch commits."""

    def advance(self, amount: int = 1, note: str = "") -> None:
        raise KeyboardInterrupt


def test_rotation_leaves_every_value_readable_by_the_new_key_alone(old_data: Path) -> None:
    registry = registry_with(old_data, f"{NEW_KEY},{OLD_KEY}")
    report = rotate_columns(registry.active(), batch_size=10)
    registry.close()
    assert report.complete and report.resealed == {"webhooks.secret": HOOKS + 1}
    assert key_ids_on_disk(old_data) == {key_id(NEW_KEY)}
    only_new = registry_with(old_data, NEW_KEY)
    hooks = only_new.store("webhooks").list_for_org("org")
    assert sorted(h.secret for h in hooks) == sorted(
        ["legacy-secret", *(f"secret-{n}" for n in range(HOOKS))])
    only_new.close()


def test_rotation_killed_after_a_batch_resumes_where_it_stopped(old_data: Path) -> None:
    registry = registry_with(old_data, f"{NEW_KEY},{OLD_KEY}")
    with pytest.raises(KeyboardInterrupt):
        rotate_columns(registry.active(), batch_size=10, progress=KilledAfterFirstBatch("x"))
    assert key_ids_on_disk(old_data) == {key_id(NEW_KEY), key_id(OLD_KEY)}
    report = rotate_columns(registry.active(), batch_size=10)
    registry.close()
    assert report.complete and report.resealed == {"webhooks.secret": HOOKS + 1 - 10}
    assert key_ids_on_disk(old_data) == {key_id(NEW_KEY)}


def test_rotating_again_changes_nothing(old_data: Path) -> None:
    registry = registry_with(old_data, f"{NEW_KEY},{OLD_KEY}")
    rotate_columns(registry.active())
    again = rotate_columns(registry.active())
    registry.close()
    assert again.complete and again.resealed == {"webhooks.secret": 0}


def test_rotation_without_column_keys_is_refused(old_data: Path) -> None:
    registry = registry_with(old_data, None)
    with pytest.raises(EncryptionUnavailableError, match="new key first"):
        rotate_columns(registry.active())
    registry.close()


def test_rotation_missing_the_old_key_reports_the_column_and_key_id_and_exits_1(
    old_data: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ARAGORA_DATA_DIR", str(old_data))
    monkeypatch.setenv("ARAGORA_ENCRYPTION_KEY", NEW_KEY)
    assert main(["encrypt", "rotate-columns"]) == 1
    err = capsys.readouterr().err
    assert "webhooks.secret" in err and key_id(OLD_KEY) in err
    assert NEW_KEY not in err and OLD_KEY not in err


def test_rotate_columns_command_prints_counts_and_never_keys(
    old_data: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ARAGORA_DATA_DIR", str(old_data))
    monkeypatch.setenv("ARAGORA_ENCRYPTION_KEY", f"{NEW_KEY},{OLD_KEY}")
    assert main(["encrypt", "rotate-columns", "--batch-size", "7"]) == 0
    out = capsys.readouterr()
    assert f"re-encrypted {HOOKS + 1} value(s)" in out.out
    assert NEW_KEY not in out.out + out.err and OLD_KEY not in out.out + out.err


def test_rotation_progress_counts_rows_toward_the_total_on_a_terminal(
    old_data: Path, terminal: io.StringIO
) -> None:
    registry = registry_with(old_data, f"{NEW_KEY},{OLD_KEY}")
    rotate_columns(registry.active(), batch_size=10, progress=Progress("rotate",
                                                                        stream=terminal))
    registry.close()
    assert f"rotate: {HOOKS + 1}/{HOOKS + 1} (100%)" in terminal.getvalue()
