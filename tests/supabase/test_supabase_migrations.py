"""Migrations on a Supabase project: status through the API, applying over
SUPABASE_DB_URL, and the generated SQL editor file (which must give the same schema)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aragora_storage_supabase.backend import SupabaseBackend
from aragora_storage_supabase.schema import FUNCTIONS_PATH, render, render_functions, sql_path
from aragora_storage_supabase.tables import DATABASES, TABLES

from aragora_storage_core.cli import main
from aragora_storage_core.errors import MigrationError
from aragora_storage_core.migrations.files import discover
from aragora_storage_core.migrations.types import MigrationAction, MigrationRequest
from aragora_storage_core.registry import Registry
from aragora_storage_core.stores.protocols import StoreKind
from tests.postgres.conftest import admin_connection
from tests.supabase.supabase_support import (
    KEY,
    TestProject,
    env_of,
    make_database,
    remove_database,
)

pytestmark = pytest.mark.postgres


def _editor_files() -> list[Path]:
    """Every SQL editor file, in the order to run them."""
    return [*(sql_path(m) for db in DATABASES for m in discover(db.value)), FUNCTIONS_PATH]


def _run_editor_files(database: str) -> None:
    conn = admin_connection(database)
    with conn.cursor() as cursor:
        for path in _editor_files():
            cursor.execute(path.read_text(encoding="utf-8"))
    conn.close()


def _migrate(registry: Registry, backend: SupabaseBackend,
             action: MigrationAction = MigrationAction.MIGRATE) -> Any:
    return registry.hook.storage_migrate(backend=backend, request=MigrationRequest(action))


def _schema(database: str) -> list[tuple[Any, ...]]:
    conn = admin_connection(database)
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT c.table_name, c.column_name, c.data_type, c.is_nullable, c.column_default,"
            " c.is_identity, t.rowsecurity FROM information_schema.columns c JOIN pg_tables t"
            " ON t.tablename = c.table_name AND t.schemaname = c.table_schema"
            " WHERE c.table_schema = 'public' ORDER BY 1, c.ordinal_position")
        rows: list[tuple[Any, ...]] = cursor.fetchall()
    conn.close()
    return rows


def test_generated_sql_editor_files_are_up_to_date() -> None:
    for db in DATABASES:
        for migration in discover(db.value):
            assert sql_path(migration).read_text(encoding="utf-8") == render(migration), \
                "run python -m aragora_storage_supabase.schema"
    assert FUNCTIONS_PATH.read_text(encoding="utf-8") == render_functions()


def test_fresh_project_reports_every_migration_pending_and_missing_tables(
        fresh_project: Any) -> None:
    server, _ = fresh_project
    registry = Registry(env=env_of(server))
    backend = registry.active()
    status = _migrate(registry, backend, MigrationAction.STATUS)
    pending = {d.db: [m.name for m in d.pending] for d in status.databases}
    assert pending == {"users": ["initial", "add_lockout", "links_webhooks_monthly_usage"],
                       "token_blacklist": ["initial"], "nomic": ["initial"]}
    assert "0 of 7 tables exist, missing: nomic_cycles" in status.databases[2].location
    checks = registry.host.collect_health(backend)
    assert any(c.id == "storage.W091" and "nomic_cycles" in c.message for c in checks)
    with pytest.raises(Exception) as missing:
        backend.store(StoreKind.NOMIC_CYCLES).list_cycles("loop")
    assert type(missing.value).__name__ == "TablesMissingError"
    assert "migrate" in missing.value.hint
    registry.close()


def test_migrate_without_a_direct_connection_names_the_sql_file_and_changes_nothing(
        fresh_project: Any) -> None:
    server, database = fresh_project
    registry = Registry(env=env_of(server))
    backend = registry.active()
    with pytest.raises(MigrationError) as error:
        _migrate(registry, backend)
    assert all(str(path) in error.value.message for path in _editor_files())
    assert "SUPABASE_DB_URL" in error.value.hint
    assert _schema(database) == []
    registry.close()


def test_migrate_command_exits_1_and_prints_the_file_to_run(
        fresh_project: Any, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    server, _ = fresh_project
    for name, value in env_of(server).items():
        monkeypatch.setenv(name, value)
    assert main(["migrate", "--migrate"]) == 1
    err = capsys.readouterr().err
    assert "001_initial.sql" in err and "SQL editor" in err
    assert KEY not in err


def test_sql_editor_file_and_direct_migrate_give_the_same_schema_and_status(
        fresh_project: Any) -> None:
    server, by_file = fresh_project
    _run_editor_files(by_file)
    registry = Registry(env=env_of(server))
    status = _migrate(registry, registry.active(), MigrationAction.STATUS)
    assert status.pending_count == 0 and not any(d.changed for d in status.databases)
    assert "all 7 tables exist" in status.databases[2].location
    assert all(d.ran == [] for d in _migrate(registry, registry.active()).databases)
    registry.close()

    by_migrate = make_database()
    try:
        with TestProject(by_migrate) as other:
            registry = Registry(env=env_of(other, by_migrate))
            report = _migrate(registry, registry.active())
            assert [d.ran for d in report.databases] == [
                ["001_initial", "002_add_lockout", "003_links_webhooks_monthly_usage"],
                ["001_initial"], ["001_initial"]]
            registry.close()
        assert _schema(by_file) == _schema(by_migrate)
    finally:
        remove_database(by_migrate)
    assert {row[0] for row in _schema(by_file)} == {"schema_version", *TABLES}
    assert all(row[6] for row in _schema(by_file)), "row level security is on everywhere"


def test_doctor_reports_pending_and_changed_migrations_once(fresh_project: Any) -> None:
    from aragora_storage_core.doctor import diagnose

    server, database = fresh_project
    findings = diagnose(env=env_of(server)).findings
    assert [f.id for f in findings if "pending" in f.message] == ["storage.W050"]
    _run_editor_files(database)  # applied by hand, then the recorded checksum differs
    conn = admin_connection(database)
    with conn.cursor() as cursor:
        cursor.execute("UPDATE schema_version SET checksum = 'edited' WHERE database = 'nomic'")
    conn.close()
    findings = diagnose(env=env_of(server)).findings
    assert [f.id for f in findings if "changed" in f.message] == ["storage.E051"]
    assert [f.id for f in findings if "pending" in f.message] == []


def test_status_of_a_changed_migration_is_shown_and_exits_1(
        fresh_project: Any, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    server, database = fresh_project
    _run_editor_files(database)
    conn = admin_connection(database)
    with conn.cursor() as cursor:
        cursor.execute("UPDATE schema_version SET checksum = 'edited' WHERE database = 'nomic'")
    conn.close()
    for name, value in env_of(server).items():
        monkeypatch.setenv(name, value)
    assert main(["migrate", "--status"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("users ") and "CHANGED AFTER APPLY: 001_initial.sql" in out
    with pytest.raises(MigrationError) as refused:  # migrating over it is still refused
        registry = Registry(env=env_of(server, database))
        _migrate(registry, registry.active())
    assert "changed after it was applied" in refused.value.message
    registry.close()
