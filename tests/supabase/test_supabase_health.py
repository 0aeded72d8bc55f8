"""doctor on a Supabase project: schema cache, grants (with the SQL that fixes them), row
level security, the anon key, latency; in bounded time and without changing anything."""

from __future__ import annotations

from typing import Any

import pytest

from aragora_storage_core.checks import Check
from aragora_storage_core.registry import Registry
from aragora_storage_core.stores.protocols import StoreKind
from tests.postgres.conftest import admin_connection
from tests.supabase.postgrest_server import ANON_KEY
from tests.supabase.supabase_support import TestProject, env_of

pytestmark = pytest.mark.postgres


def _sql(database: str, *statements: str) -> None:
    conn = admin_connection(database)
    with conn.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
    conn.close()


def _health(env: dict[str, str]) -> list[Check]:
    registry = Registry(env=env)
    checks: list[Check] = registry.host.collect_health(registry.active())
    registry.close()
    return checks


def _by_id(checks: list[Check]) -> dict[str, Check]:
    return {c.id: c for c in checks}


def _catalog(database: str) -> list[Any]:
    conn = admin_connection(database)
    with conn.cursor() as cursor:
        cursor.execute("SELECT c.relname, c.relrowsecurity, c.relacl::text FROM pg_class c"
                       " JOIN pg_namespace n ON n.oid = c.relnamespace"
                       " WHERE n.nspname = 'public' ORDER BY 1")
        rows = cursor.fetchall()
    conn.close()
    return rows


def test_a_migrated_project_is_healthy(supabase_backend: Any, supabase_env: dict[str, str]
                                       ) -> None:
    supabase_backend.store(StoreKind.STREAM_EVENTS)
    found = _by_id(_health(supabase_env))
    assert {"storage.I090", "storage.I091", "storage.I098"} <= set(found)
    assert not {"storage.W096", "storage.W097", "storage.W098", "storage.E090"} & set(found)
    assert found["storage.I090"].data["latency_ms"] > 0


def test_missing_grants_and_rls_off_are_reported_with_the_sql_and_nothing_changes(
        supabase_backend: Any, supabase_env: dict[str, str], project_database: str) -> None:
    supabase_backend.store(StoreKind.STREAM_EVENTS)
    _sql(project_database, "REVOKE ALL ON agent_metrics FROM service_role",
         "ALTER TABLE debate_artifacts DISABLE ROW LEVEL SECURITY")
    try:
        before = _catalog(project_database)
        found = _by_id(_health(supabase_env))
        assert _catalog(project_database) == before, "doctor changes nothing"
        assert "agent_metrics" in found["storage.W096"].message
        assert found["storage.W096"].hint.startswith(
            "GRANT SELECT, INSERT, UPDATE, DELETE ON agent_metrics TO service_role")
        assert "debate_artifacts" in found["storage.W097"].message
        assert "ALTER TABLE debate_artifacts ENABLE ROW LEVEL SECURITY" in \
            found["storage.W097"].hint
    finally:
        _sql(project_database, "GRANT ALL ON agent_metrics TO service_role",
             "ALTER TABLE debate_artifacts ENABLE ROW LEVEL SECURITY")


def test_grants_are_reported_without_a_direct_connection_too(
        supabase_backend: Any, postgrest: TestProject, project_database: str) -> None:
    supabase_backend.store(StoreKind.STREAM_EVENTS)
    _sql(project_database, "REVOKE ALL ON agent_metrics FROM service_role")
    try:
        found = _by_id(_health(env_of(postgrest)))
    finally:
        _sql(project_database, "GRANT ALL ON agent_metrics TO service_role")
    assert "agent_metrics" in found["storage.W096"].message
    assert "storage.W091" not in found


def test_a_schema_cache_behind_the_database_is_reported(
        supabase_backend: Any, supabase_env: dict[str, str], project_database: str) -> None:
    supabase_backend.store(StoreKind.STREAM_EVENTS)
    _sql(project_database, "ALTER TABLE agent_metrics ADD COLUMN pending_reload TEXT")
    try:
        found = _by_id(_health(supabase_env))
    finally:
        _sql(project_database, "ALTER TABLE agent_metrics DROP COLUMN pending_reload")
    assert "agent_metrics" in found["storage.W098"].message
    assert "NOTIFY pgrst" in found["storage.W098"].hint


def test_doctor_names_the_anon_key_in_use(supabase_backend: Any, postgrest: TestProject) -> None:
    from aragora_storage_core.doctor import diagnose

    supabase_backend.store(StoreKind.STREAM_EVENTS)
    findings = diagnose(env={"SUPABASE_URL": postgrest.url,
                             "SUPABASE_KEY": ANON_KEY}).findings
    refused = [f for f in findings if f.id == "storage.E091"]
    assert len(refused) == 1 and "anon key" in refused[0].message
    assert all(ANON_KEY not in f.line() for f in findings)


def test_a_project_that_stops_answering_is_one_error_within_the_timeout(
        supabase_backend: Any, project_database: str) -> None:
    supabase_backend.store(StoreKind.STREAM_EVENTS)
    with TestProject(project_database) as project:
        registry = Registry(env=env_of(project, project_database) | {"SUPABASE_TIMEOUT": "2"})
        backend = registry.active()
        project.postgrest.stop()
        checks = registry.host.collect_health(backend)
        registry.close()
    errors = [c for c in checks if c.id == "storage.E090"]
    assert len(errors) == 1 and "HTTP 502" in errors[0].message
