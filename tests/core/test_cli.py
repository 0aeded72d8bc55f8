"""The ``aragora-storage`` command: doctor, migrate, plugins, cleanup, and bad input."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from aragora_storage_core.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_doctor_on_a_fresh_machine_is_clean_and_creates_nothing(
        capsys: pytest.CaptureFixture[str], clean_environment: Path) -> None:
    code, out, _ = run(capsys, "doctor")
    assert code == 0
    assert "chosen by default" in out and "storage.W050" in out
    assert not (clean_environment / ".nomic").exists()


def test_doctor_json_explains_the_selection(capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARAGORA_DB_MODE", "consolidated")
    code, out, _ = run(capsys, "doctor", "--json")
    data = json.loads(out)
    assert code == 0
    assert data["selection"]["source"] == "ARAGORA_DB_MODE"
    assert data["selection"]["url"] == "sqlite:///.nomic?mode=consolidated"
    assert data["routing"]["users"] == "sqlite"
    assert {"id", "level", "message", "hint"} <= set(data["findings"][0])


def test_doctor_warns_that_replica_urls_are_unused_by_a_backend_without_replicas(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_REPLICA_URLS", "postgresql://app:s3cret@replica:5432/app")
    code, out, _ = run(capsys, "doctor", "--json")
    findings = {f["id"]: f for f in json.loads(out)["findings"]}
    assert code == 0 and "s3cret" not in out
    assert findings["storage.W017"]["message"] == (
        "DATABASE_REPLICA_URLS is set, but the sqlite backend selected by default reads from"
        " no replicas: they are not used")


def test_migrate_then_doctor_has_no_warnings(capsys: pytest.CaptureFixture[str],
                                             clean_environment: Path) -> None:
    assert run(capsys, "migrate", "--migrate")[0] == 0
    code, out, _ = run(capsys, "doctor", "--fail-level", "warning")
    assert code == 0, out
    assert "0 error(s), 0 warning(s)" in out
    for path in (clean_environment / ".nomic").iterdir():
        assert path.stat().st_mode & 0o777 == 0o600, path
    assert (clean_environment / ".nomic").stat().st_mode & 0o777 == 0o700


def test_stray_database_files_are_found_and_cleaned_up(capsys: pytest.CaptureFixture[str],
                                                       clean_environment: Path) -> None:
    (clean_environment / "elo.db").write_bytes(b"")
    (clean_environment / "elo.db-wal").write_bytes(b"")
    code, out, _ = run(capsys, "doctor", "--fail-level", "warning")
    assert code == 1 and "storage.W016" in out and "aragora-storage cleanup" in out
    assert run(capsys, "cleanup")[0] == 0
    assert sorted(p.name for p in (clean_environment / ".nomic").iterdir()) == \
        ["elo.db", "elo.db-wal"]
    (clean_environment / "elo.db").write_bytes(b"other")
    code, out, _ = run(capsys, "cleanup")
    assert code == 1 and "already exists" in out
    assert (clean_environment / "elo.db").read_bytes() == b"other"


@pytest.mark.parametrize("source", ["no-such-dir", "a-file"])
def test_cleanup_of_a_source_that_is_not_a_directory_is_an_error(
        capsys: pytest.CaptureFixture[str], clean_environment: Path, source: str) -> None:
    (clean_environment / "a-file").write_text("x")
    code, out, err = run(capsys, "cleanup", "--source", source)
    assert code == 2 and f"{source} is not a directory" in err and out == ""


def test_invalid_mode_is_one_finding_with_the_valid_modes(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARAGORA_DB_MODE", "turbo")
    code, out, _ = run(capsys, "doctor")
    assert code == 1
    assert "storage.E001" in out and "'legacy' or 'consolidated'" in out
    code, _, err = run(capsys, "migrate")
    assert code == 2 and err.count("\n") == 2 and err.startswith("error: ARAGORA_DB_MODE")


def test_unknown_scheme_lists_installed_schemes_and_extras(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "oracle://root:topsecret@db/app")
    code, _, err = run(capsys, "migrate", "--status")
    assert code == 2
    assert "unknown database URL scheme 'oracle'" in err and "sqlite" in err
    assert "aragora-storage[" not in err or "[postgres]" in err
    assert "topsecret" not in err


@pytest.mark.parametrize("password", ["p@ss/w%rd", "has space", "it's"])
def test_malformed_url_never_shows_its_password(capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch,
                                                password: str) -> None:
    monkeypatch.setenv("DATABASE_URL", f"postgresql://u:{password}@host:port/db")
    for argv in (["migrate"], ["doctor"], ["doctor", "--json"]):
        code, out, err = run(capsys, *argv)
        assert code != 0
        assert password not in out + err
        assert "port" in out + err


def test_supabase_url_without_key_is_an_error(capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPABASE_URL", "https://demo.supabase.co")
    code, _, err = run(capsys, "migrate")
    assert code == 2 and "SUPABASE_KEY" in err


def test_unwritable_data_dir_is_one_clear_line(capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch,
                                               clean_environment: Path) -> None:
    blocker = clean_environment / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("ARAGORA_DATA_DIR", str(blocker / "data"))
    code, _, err = run(capsys, "migrate", "--migrate")
    assert code == 2
    assert err.startswith("error: cannot create data directory") and "ARAGORA_DATA_DIR" in err
    assert blocker.read_text() == "not a directory"


@pytest.mark.parametrize("data_dir", ["a-file", "a-file/data"])
def test_doctor_fails_when_the_data_dir_cannot_be_a_directory(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        clean_environment: Path, data_dir: str) -> None:
    (clean_environment / "a-file").write_text("not a directory")
    monkeypatch.setenv("ARAGORA_DATA_DIR", data_dir)
    code, out, _ = run(capsys, "doctor")
    assert code == 1 and "storage.E043" in out and "a-file is not a directory" in out
    assert (clean_environment / "a-file").read_text() == "not a directory"


def test_doctor_accepts_a_data_dir_that_migrate_will_create(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        clean_environment: Path) -> None:
    monkeypatch.setenv("ARAGORA_DATA_DIR", "deep/under/here")
    code, out, _ = run(capsys, "doctor")
    assert code == 0 and "storage.E043" not in out
    assert not (clean_environment / "deep").exists()


def test_corrupt_database_is_reported_and_left_untouched(capsys: pytest.CaptureFixture[str],
                                                         clean_environment: Path) -> None:
    data = clean_environment / ".nomic"
    data.mkdir()
    garbage = b"this is not sqlite at all" * 100
    (data / "users.db").write_bytes(garbage)
    code, _, err = run(capsys, "migrate", "--migrate", "--db", "users")
    assert code != 0 and err.count("\n") == 2
    assert "not a SQLite file" in err or "not a usable SQLite database" in err
    assert (data / "users.db").read_bytes() == garbage
    code, out, _ = run(capsys, "doctor")
    assert code == 1 and "users.db" in out


def test_damaged_pages_of_a_real_database_are_reported(capsys: pytest.CaptureFixture[str],
                                                       clean_environment: Path) -> None:
    assert run(capsys, "migrate", "--migrate", "--db", "users")[0] == 0
    db = clean_environment / ".nomic" / "users.db"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = bytearray(db.read_bytes())
    raw[4096:8192] = b"\xff" * 4096
    db.write_bytes(bytes(raw))
    code, out, _ = run(capsys, "doctor")
    assert code == 1 and "storage.E041" in out
    assert db.read_bytes() == bytes(raw)


def test_changed_migration_checksum_stops_migrate_and_fails_doctor(
        capsys: pytest.CaptureFixture[str], clean_environment: Path) -> None:
    assert run(capsys, "migrate", "--migrate", "--db", "users")[0] == 0
    db = clean_environment / ".nomic" / "users.db"
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE schema_version SET checksum = 'edited' WHERE version = 1")
    code, _, err = run(capsys, "migrate", "--migrate")
    assert code == 1 and "001_initial.sql changed after it was applied" in err
    code, out, _ = run(capsys, "doctor")
    assert code == 1 and "storage.E051" in out


def test_changed_migration_in_a_later_database_stops_migrate_before_any_database_changes(
        capsys: pytest.CaptureFixture[str], clean_environment: Path) -> None:
    assert run(capsys, "migrate", "--migrate", "--db", "relationships")[0] == 0
    data = clean_environment / ".nomic"
    with sqlite3.connect(data / "agent_relationships.db") as conn:
        conn.execute("UPDATE schema_version SET checksum = 'edited' WHERE version = 1")
    code, _, err = run(capsys, "migrate", "--migrate")
    assert code == 1 and "relationships/001_initial.sql changed after it was applied" in err
    assert sorted(p.name for p in data.glob("*.db")) == ["agent_relationships.db"]


def test_migrate_to_a_version_downgrades_and_upgrades(capsys: pytest.CaptureFixture[str],
                                                      clean_environment: Path) -> None:
    run(capsys, "migrate", "--migrate", "--db", "users")
    code, out, _ = run(capsys, "migrate", "--to", "1", "--db", "users")
    assert code == 0 and "-003_links_webhooks_monthly_usage" in out
    db = clean_environment / ".nomic" / "users.db"
    with sqlite3.connect(db) as conn:
        columns = {r[1] for r in conn.execute("PRAGMA table_info(users)")}
    assert "locked_until" not in columns
    code, out, _ = run(capsys, "migrate", "--to", "3", "--db", "users")
    assert code == 0 and "002_add_lockout" in out


def test_migrate_dry_run_writes_nothing(capsys: pytest.CaptureFixture[str],
                                        clean_environment: Path) -> None:
    code, out, _ = run(capsys, "migrate", "--dry-run", "--json")
    assert code == 0
    assert json.loads(out)["databases"][0]["pending"]
    assert not (clean_environment / ".nomic").exists()


def test_create_writes_the_next_numbered_migration(capsys: pytest.CaptureFixture[str],
                                                   clean_environment: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    folder = clean_environment / "mig"
    monkeypatch.setenv("ARAGORA_MIGRATIONS_PATH", str(folder))
    code, out, _ = run(capsys, "migrate", "--create", "Add user lockout fields", "--db",
                       "users", "--dir", str(folder))
    created = folder / "users" / "004_add_user_lockout_fields.py"  # after the core's 003
    assert code == 0 and str(created) in out
    compile(created.read_text(), str(created), "exec")
    code, _, err = run(capsys, "migrate", "--create", "x", "--db", "nonsense")
    assert code == 1 and "unknown database 'nonsense'" in err


def test_create_into_a_folder_that_cannot_be_made_is_one_clear_line(
        capsys: pytest.CaptureFixture[str], clean_environment: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    (clean_environment / "a-file").write_text("x")
    monkeypatch.setenv("ARAGORA_MIGRATIONS_PATH", "a-file/migrations")
    code, out, err = run(capsys, "migrate", "--create", "Add x", "--db", "users",
                         "--dir", "a-file/migrations")
    assert code == 1 and out == "" and err.startswith("error: cannot write the migration")
    assert "Traceback" not in err and err.count("\n") == 2


def test_create_with_an_empty_description_is_refused(capsys: pytest.CaptureFixture[str],
                                                     clean_environment: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARAGORA_MIGRATIONS_PATH", "mig")
    code, out, err = run(capsys, "migrate", "--create", "", "--db", "users", "--dir", "mig")
    assert code == 1 and out == "" and "needs a description" in err
    assert not (clean_environment / "mig").exists()


def test_plugins_json_lists_the_sqlite_backend(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "plugins", "--json")
    data = json.loads(out)
    sqlite = next(b for b in data["backends"] if b["name"] == "sqlite")
    assert code == 0 and sqlite["distribution"] == "aragora-storage"
    assert "users" in sqlite["stores"] and sqlite["status"] == "loaded"


def test_seed_runner_module_takes_the_seed_flags(clean_environment: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "aragora_storage_core.migrations.runner", "--migrate",
         "--db", "users"], capture_output=True, text=True, cwd=clean_environment)
    assert result.returncode == 0, result.stderr
    assert "users" in result.stdout and "003_links_webhooks_monthly_usage" in result.stdout
    assert (clean_environment / ".nomic" / "users.db").exists()


def test_doctor_reports_backup_age_and_key_findings(capsys: pytest.CaptureFixture[str],
                                                    clean_environment: Path) -> None:
    run(capsys, "migrate", "--migrate")
    code, out, _ = run(capsys, "doctor", "-v")
    assert code == 0 and "storage.I065" in out
    assert run(capsys, "backup", "create")[0] == 0
    code, out, _ = run(capsys, "doctor", "-v")
    assert code == 0 and "storage.I066" in out


def test_migrate_to_a_version_past_the_latest_is_an_error_and_changes_nothing(
        capsys: pytest.CaptureFixture[str], clean_environment: Path) -> None:
    from aragora_storage_core.migrations.files import discover

    latest = discover("users")[-1].version
    code, _, err = run(capsys, "migrate", "--to", str(latest + 5), "--db", "users")
    assert code == 1
    assert err.splitlines()[0] == (
        f"error: users has no migration {latest + 5}: the latest is {latest}")
    assert not (clean_environment / ".nomic" / "users.db").exists()
