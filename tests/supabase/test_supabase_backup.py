"""Backup through the API into files, restore into another project's empty tables."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aragora_storage_supabase.tables import TABLES

from aragora_storage_core.backup.create import create_backup
from aragora_storage_core.backup.restore import restore_backup
from aragora_storage_core.errors import BackupError
from aragora_storage_core.migrations.types import MigrationAction, MigrationRequest
from aragora_storage_core.models import AgentMetric, DebateArtifact, NomicCycle, StreamEvent
from aragora_storage_core.registry import Registry
from aragora_storage_core.stores.protocols import StoreKind
from tests.postgres.conftest import admin_connection
from tests.supabase.supabase_support import env_of

pytestmark = pytest.mark.postgres
START = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _fill(backend: Any) -> None:
    cycles = backend.store(StoreKind.NOMIC_CYCLES)
    for n in range(1, 4):
        cycles.save_cycle(NomicCycle("loop-b", n, "debate", "voting", START, success=n % 2 == 0,
                                     task_description="tâche ✓ 'quoted'"))
    cycles.record_rollback("loop-b", 2, "tests failed", "abc", "def")
    cycles.record_file_change("loop-b", 2, "a.py", "modified", 3, 1)
    backend.store(StoreKind.DEBATE_ARTIFACTS).save(DebateArtifact(
        "loop-b", 1, "debate", "t", ["a"], [{"text": "hi"}], True, 0.5, vote_tally={"a": 1}))
    events = backend.store(StoreKind.STREAM_EVENTS)
    ids = events.append_many([StreamEvent("loop-b", 1, "e", {"n": i}) for i in range(30)])
    admin = admin_connection(backend.direct_url.rsplit("/", 1)[1])
    with admin.cursor() as cursor:  # a gap in the ids, as deletions leave
        cursor.execute("DELETE FROM stream_events WHERE id = %s", (int(ids[3]),))
    admin.close()
    backend.store(StoreKind.AGENT_METRICS).record_many(
        [AgentMetric("loop-b", 1, "a", "latency", float(i), {"i": i}) for i in range(5)])


def _filled_backup(backend: Any, tmp_path: Path) -> tuple[Registry, Path]:
    """Fill ``backend``'s tables and back them up; the registry and the backup directory."""
    _fill(backend)
    registry = Registry(backend.settings)
    registry.host.load_backend("supabase")
    directory, _ = create_backup(registry.hook, backend, tmp_path)
    return registry, directory


def _rows(database: str) -> dict[str, list[tuple[Any, ...]]]:
    conn = admin_connection(database)
    found = {}
    with conn.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"SELECT * FROM {table} ORDER BY 1, 2, 3")
            found[table] = cursor.fetchall()
    conn.close()
    return found


def _migrated(server: Any, database: str | None) -> tuple[Registry, Any]:
    registry = Registry(env=env_of(server, database))
    backend = registry.active()
    if database is not None:
        registry.hook.storage_migrate(backend=backend,
                                      request=MigrationRequest(MigrationAction.MIGRATE))
    return registry, backend


def test_restore_into_empty_tables_gives_identical_rows_and_ids_continue(
        supabase_backend: Any, project_database: str, fresh_project: Any,
        tmp_path: Path) -> None:
    _fill(supabase_backend)
    registry = Registry(supabase_backend.settings)
    registry.host.load_backend("supabase")
    directory, manifest = create_backup(registry.hook, supabase_backend, tmp_path)
    assert (directory / "manifest.json").is_file()
    assert manifest.backend == "supabase"
    assert manifest.schema_versions == {"users": 3, "token_blacklist": 1, "nomic": 1}
    assert manifest.extra["rows"]["stream_events"] == 29
    for entry in manifest.files:
        assert stat.S_IMODE((directory / entry.name).stat().st_mode) == 0o600

    server, database = fresh_project
    target_registry, target = _migrated(server, database)
    restore_backup(target_registry.hook, target, directory)
    assert _rows(database) == _rows(project_database)
    new_id = target.store(StoreKind.STREAM_EVENTS).append(StreamEvent("loop-b", 2, "e", {}))
    assert int(new_id) == max(r[0] for r in _rows(database)["stream_events"])
    assert int(new_id) > 30
    target_registry.close()


def test_restore_refuses_tables_with_rows_and_changes_nothing(
        supabase_backend: Any, project_database: str, tmp_path: Path) -> None:
    registry, directory = _filled_backup(supabase_backend, tmp_path)
    before = _rows(project_database)
    with pytest.raises(BackupError, match="empty tables"):
        restore_backup(registry.hook, supabase_backend, directory)
    assert _rows(project_database) == before


def test_restore_without_a_direct_connection_refuses_before_writing(
        supabase_backend: Any, fresh_project: Any, tmp_path: Path) -> None:
    _, directory = _filled_backup(supabase_backend, tmp_path)
    server, database = fresh_project
    _migrated(server, database)[0].close()
    plain_registry, plain = _migrated(server, None)
    with pytest.raises(BackupError) as error:
        restore_backup(plain_registry.hook, plain, directory)
    assert "SUPABASE_DB_URL" in error.value.message + error.value.hint
    assert all(rows == [] for rows in _rows(database).values())
    plain_registry.close()


def test_restore_into_an_unmigrated_project_says_to_migrate_first(
        supabase_backend: Any, fresh_project: Any, tmp_path: Path) -> None:
    _, directory = _filled_backup(supabase_backend, tmp_path)
    server, _ = fresh_project
    plain_registry, plain = _migrated(server, None)
    with pytest.raises(BackupError) as error:
        restore_backup(plain_registry.hook, plain, directory)
    assert "migrate" in error.value.hint
    plain_registry.close()


def test_restore_with_an_unreachable_direct_connection_refuses_before_writing(
        supabase_backend: Any, fresh_project: Any, tmp_path: Path) -> None:
    from aragora_storage_core.errors import BackendUnavailableError
    from tests.postgres.cluster import free_port

    _, directory = _filled_backup(supabase_backend, tmp_path)
    server, database = fresh_project
    _migrated(server, database)[0].close()
    env = env_of(server) | {"SUPABASE_DB_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/x"}
    broken_registry = Registry(env=env)
    with pytest.raises(BackendUnavailableError) as error:
        restore_backup(broken_registry.hook, broken_registry.active(), directory)
    assert error.value.message.startswith("cannot reach PostgreSQL at 127.0.0.1:")
    assert all(rows == [] for rows in _rows(database).values())
    broken_registry.close()
