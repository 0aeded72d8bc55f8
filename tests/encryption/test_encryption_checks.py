"""Doctor findings about encryption: files really encrypted, keys strong, secrets private."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

from aragora_storage_core.checks import Check
from aragora_storage_core.encryption.checks import key_checks, sqlite_file_checks
from aragora_storage_core.encryption.sqlcipher import DatabaseKey
from aragora_storage_core.registry import Registry
from aragora_storage_core.settings import Settings
from aragora_storage_core.sqlite.connection import connect


def ids(checks: list[Check]) -> set[str]:
    return {check.id for check in checks}


def plain_and_encrypted(tmp_path: Path, passphrase: str) -> tuple[Path, Path]:
    plain, encrypted = tmp_path / "plain.db", tmp_path / "secret.db"
    connect(plain).close()
    connect(encrypted, key=DatabaseKey(passphrase)).close()
    return plain, encrypted


def test_a_plain_file_while_encryption_is_on_is_an_error(tmp_path: Path, passphrase: str) -> None:
    plain, encrypted = plain_and_encrypted(tmp_path, passphrase)
    settings = Settings.from_env({"ARAGORA_SQLITE_ENCRYPTION": "1",
                                  "ARAGORA_SQLITE_KEY": passphrase})
    checks = sqlite_file_checks(settings, [plain, encrypted], DatabaseKey(passphrase))
    assert "storage.E076" in ids(checks)
    assert "plain.db" in next(c.message for c in checks if c.id == "storage.E076")


def test_all_files_encrypted_is_reported_as_info(tmp_path: Path, passphrase: str) -> None:
    _, encrypted = plain_and_encrypted(tmp_path, passphrase)
    settings = Settings.from_env({"ARAGORA_SQLITE_ENCRYPTION": "1"})
    assert ids(sqlite_file_checks(settings, [encrypted], DatabaseKey(passphrase))) == {
        "storage.I076"}


def test_encrypted_files_with_encryption_off_and_a_forgotten_switch_are_flagged(
    tmp_path: Path, passphrase: str
) -> None:
    _, encrypted = plain_and_encrypted(tmp_path, passphrase)
    settings = Settings.from_env({"ARAGORA_SQLITE_KEY": passphrase})
    assert ids(sqlite_file_checks(settings, [encrypted], None)) == {
        "storage.E078", "storage.W077"}


def test_a_short_key_is_warned_about_without_showing_it(tmp_path: Path) -> None:
    settings = Settings.from_env({"ARAGORA_SQLITE_ENCRYPTION": "1"})
    checks = sqlite_file_checks(settings, [], DatabaseKey("short"))
    assert ids(checks) == {"storage.W079"}
    assert "short" not in checks[0].message.replace("shorter", "")


def test_a_key_file_readable_by_others_is_flagged(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(Fernet.generate_key().decode())
    os.chmod(key_file, 0o640)
    checks = key_checks(Settings.from_env({"ARAGORA_ENCRYPTION_KEY_FILE": str(key_file)}))
    assert "storage.W080" in ids(checks) and "storage.I081" in ids(checks)


def test_an_invalid_column_key_is_an_error_that_does_not_show_it() -> None:
    bad = "definitely-not-a-fernet-key"
    checks = key_checks(Settings.from_env({"ARAGORA_ENCRYPTION_KEY": bad}))
    assert ids(checks) == {"storage.E081"}
    assert bad not in checks[0].message + checks[0].hint


def test_the_sqlite_plugin_reports_encryption_through_storage_health(
    encrypted_registry: Registry,
) -> None:
    encrypted_registry.store("users")
    backend = encrypted_registry.active()
    assert "storage.I076" in ids(encrypted_registry.host.collect_health(backend))


def test_doctor_with_a_wrong_key_says_so_instead_of_suggesting_a_restore(
    encrypted_env: dict[str, str],
) -> None:
    registry = Registry(env=encrypted_env)
    registry.store("users")
    registry.close()
    wrong = Registry(env={**encrypted_env, "ARAGORA_SQLITE_KEY": "not the key it was made with"})
    checks = wrong.host.collect_health(wrong.active())
    unreadable = [c for c in checks if c.id == "storage.E071"]
    assert unreadable and "cannot be opened with the key" in unreadable[0].message
    assert "storage.E041" not in ids(checks)  # a key problem never looks like damage
    assert "restore" not in unreadable[0].hint
    assert "not the key it was made with" not in " ".join(c.message + c.hint for c in checks)


def test_doctor_without_the_switch_or_on_a_plain_file_names_the_cause_not_a_restore(
    encrypted_env: dict[str, str], data_dir: Path,
) -> None:
    encrypted = Registry(env=encrypted_env)
    encrypted.store("users")
    encrypted.close()
    no_switch = Registry(env={"ARAGORA_DATA_DIR": str(data_dir)})
    plain_dir = data_dir.parent / "plain"
    plain = Registry(env={"ARAGORA_DATA_DIR": str(plain_dir)})
    plain.store("users")
    plain.close()
    keyed = Registry(env={**encrypted_env, "ARAGORA_DATA_DIR": str(plain_dir)})
    for registry, finding, cause in ((no_switch, "storage.E078", "are encrypted but"),
                                     (keyed, "storage.E076", "are NOT encrypted")):
        checks = registry.host.collect_health(registry.active())
        unreadable = [c for c in checks if c.id == finding]
        assert unreadable and cause in unreadable[0].message
        assert "restore" not in unreadable[0].hint
        assert "storage.E041" not in ids(checks)  # never looks like damage
        registry.close()


def doctor_errors(env: dict[str, str]) -> list[str]:
    """The ERROR lines of the CLI ``doctor`` run in a child process with ``env``."""
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("ARAGORA_", "DATABASE_", "SUPABASE_", "REDIS_"))}
    result = subprocess.run([sys.executable, "-m", "aragora_storage_core", "doctor"],
                            env={**base, **env}, capture_output=True, text=True, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    return [line for line in result.stdout.splitlines() if " ERROR: " in line]


def migrate_all(env: dict[str, str]) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith("ARAGORA_")}
    subprocess.run([sys.executable, "-m", "aragora_storage_core", "migrate",
                    "--migrate"], env={**base, **env}, capture_output=True, check=True)


def test_a_key_problem_is_one_doctor_finding_for_all_files_never_a_corruption(
    encrypted_env: dict[str, str], data_dir: Path,
) -> None:
    """Issue 10 item 8: a missing switch, a wrong key, a key for plain files: each is one
    line naming the cause, not one per file (25 files) and not "restore from a backup"."""
    migrate_all(encrypted_env)
    plain_dir = data_dir.parent / "plain"
    migrate_all({"ARAGORA_DATA_DIR": str(plain_dir)})
    cases = [
        ({"ARAGORA_DATA_DIR": str(data_dir)}, "ARAGORA_SQLITE_ENCRYPTION is off"),
        ({**encrypted_env, "ARAGORA_SQLITE_KEY": "not the key it was made with"},
         "cannot be opened with the key"),
        ({**encrypted_env, "ARAGORA_DATA_DIR": str(plain_dir)}, "NOT encrypted"),
    ]
    for env, cause in cases:
        errors = doctor_errors(env)
        assert len(errors) == 1 and cause in errors[0], errors
        assert "restore" not in errors[0] and "corrupt" not in errors[0]
