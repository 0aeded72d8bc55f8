"""The defects the real PostgREST showed (issue 13), each on the real server.

Migrate-then-use at once, truncation at ``max-rows``, grants and row level security,
outages (PostgREST's 503s, the gateway's 502/504) and both gateways' 401s.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aragora_storage_supabase.direct import direct_database
from aragora_storage_supabase.errors import (
    GrantsMissingError,
    KeyRejectedError,
    TablesMissingError,
)
from aragora_storage_supabase.migrate import served_columns, wait_until_served
from aragora_storage_supabase.project import GatewayAnswer

from aragora_storage_core.backup.create import create_backup
from aragora_storage_core.errors import BackendUnavailableError
from aragora_storage_core.migrations.types import MigrationAction, MigrationRequest
from aragora_storage_core.models import AgentMetric, NomicCycle, StreamEvent, User
from aragora_storage_core.registry import Registry
from aragora_storage_core.stores.protocols import StoreKind
from tests.postgres.conftest import admin_connection
from tests.supabase.postgrest_server import ANON_KEY
from tests.supabase.supabase_support import KEY, TestProject, env_of

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
START = datetime(2026, 1, 2, tzinfo=UTC)
MANY = 1234  # more than max-rows 1000 and than two pages of 500


def _sql(database: str, statement: str, params: tuple[Any, ...] = ()) -> None:
    conn = admin_connection(database)
    with conn.cursor() as cursor:
        cursor.execute(statement, params)
    conn.close()


def test_a_store_works_at_once_after_its_tables_are_created(fresh_project: Any) -> None:
    project, database = fresh_project
    registry = Registry(env=env_of(project, database))
    cycles = registry.active().store(StoreKind.NOMIC_CYCLES)  # migrates, then returns
    cycles.save_cycle(NomicCycle("at-once", 1, "debate", "voting", START))
    assert [c.cycle_number for c in cycles.list_cycles("at-once")] == [1]
    users = registry.active().store(StoreKind.USERS)
    users.create(User("at-once", "at-once@example.com", "h", "s"))
    assert users.record_failed_login("at-once") == 1  # a database function, served at once
    registry.close()


def test_waiting_for_the_schema_cache_covers_a_new_column(
        supabase_backend: Any, project_database: str) -> None:
    supabase_backend.store(StoreKind.STREAM_EVENTS)
    _sql(project_database, "ALTER TABLE stream_events ADD COLUMN IF NOT EXISTS extra TEXT")
    assert "extra" not in supabase_backend.project.served_schema().tables["stream_events"]
    _sql(project_database, "NOTIFY pgrst, 'reload schema'")
    with direct_database(supabase_backend, "test") as database:
        wait_until_served(supabase_backend, served_columns(database, ["stream_events"]))
    assert "extra" in supabase_backend.project.served_schema().tables["stream_events"]
    _sql(project_database, "ALTER TABLE stream_events DROP COLUMN extra")
    _sql(project_database, "NOTIFY pgrst, 'reload schema'")


def test_a_table_the_api_does_not_serve_is_tables_missing(supabase_backend: Any) -> None:
    project = supabase_backend.project
    with pytest.raises(TablesMissingError) as read:
        project.run(project.table("no_such_table").select("*"), "read")
    with pytest.raises(TablesMissingError) as write:
        project.run(project.table("no_such_table").insert({"a": 1}), "write", False)
    assert "migrate" in read.value.hint and "migrate" in write.value.hint


def _fill_many(database: str) -> None:
    """MANY rows per table of one loop/cycle/agent, written straight into the database."""
    _sql(database, "INSERT INTO nomic_cycles (loop_id, cycle_number, phase, stage, started_at)"
                   " SELECT 'many', n, 'debate', 's', '2026-01-02T00:00:00+00:00'"
                   " FROM generate_series(1, %s) n", (MANY,))
    _sql(database, "INSERT INTO cycle_file_changes (loop_id, cycle_number, file_path,"
                   " change_type, lines_added, lines_removed, created_at) SELECT 'many', 1,"
                   " 'f' || n, 'modified', n, 0, '2026-01-02T00:00:00+00:00'"
                   " FROM generate_series(1, %s) n", (MANY,))
    _sql(database, "INSERT INTO debate_artifacts (loop_id, cycle_number, phase, task, agents,"
                   " transcript, consensus_reached, confidence, created_at) SELECT 'many', 1,"
                   " 'debate', 't' || n, '[]', '[]', 1, 0.5, '2026-01-02T00:00:00+00:00'"
                   " FROM generate_series(1, %s) n", (MANY,))


def _check_everything_is_read(backend: Any) -> None:
    cycles = backend.store(StoreKind.NOMIC_CYCLES)
    assert [c.cycle_number for c in cycles.list_cycles("many")] == list(range(1, MANY + 1))
    changes = cycles.list_file_changes("many", 1)
    assert [c["lines_added"] for c in changes] == list(range(1, MANY + 1))
    artifacts = backend.store(StoreKind.DEBATE_ARTIFACTS).list_for_cycle("many", 1)
    assert [a.task for a in artifacts] == [f"t{n}" for n in range(1, MANY + 1)]
    events = backend.store(StoreKind.STREAM_EVENTS)
    assert [e.event_data["n"] for e in events.read("many", limit=1500)] == list(range(MANY))
    assert len(events.read("many", limit=1100)) == 1100
    metrics = backend.store(StoreKind.AGENT_METRICS)
    newest_first = [m.value for m in metrics.for_agent("many-agent", limit=1500)]
    assert newest_first == [float(n) for n in reversed(range(MANY))]
    assert metrics.summary("many") == {"many-agent": {"score": (MANY - 1) / 2}}


@pytest.fixture
def many_rows(supabase_backend: Any, project_database: str) -> Any:
    """The session project with MANY rows in every table, some written through the API."""
    supabase_backend.store(StoreKind.NOMIC_CYCLES)
    _fill_many(project_database)
    ids = supabase_backend.store(StoreKind.STREAM_EVENTS).append_many(
        [StreamEvent("many", 1, "e", {"n": n}) for n in range(MANY)])
    assert [int(i) for i in ids] == list(range(1, MANY + 1))
    supabase_backend.store(StoreKind.AGENT_METRICS).record_many(
        [AgentMetric("many", 1, "many-agent", "score", float(n),
                     recorded_at=START + timedelta(seconds=n)) for n in range(MANY)])
    return supabase_backend


def test_every_list_and_read_returns_every_row_beyond_max_rows(many_rows: Any) -> None:
    _check_everything_is_read(many_rows)


def test_a_project_capping_at_500_rows_still_reads_and_backs_up_every_row(
        many_rows: Any, project_database: str, tmp_path: Path) -> None:
    with TestProject(project_database, max_rows=500) as capped:
        registry = Registry(env=env_of(capped))
        backend = registry.active()
        _check_everything_is_read(backend)
        registry.host.load_backend("supabase")
        _, manifest = create_backup(registry.hook, backend, tmp_path)
        registry.close()
    assert {t: manifest.extra["rows"][t] for t in (
        "nomic_cycles", "cycle_file_changes", "debate_artifacts", "stream_events",
        "agent_metrics")} == dict.fromkeys((
            "nomic_cycles", "cycle_file_changes", "debate_artifacts", "stream_events",
            "agent_metrics"), MANY)


def test_migrate_grants_the_service_role_and_keeps_the_anon_key_out(
        fresh_project: Any) -> None:
    project, database = fresh_project
    registry = Registry(env=env_of(project, database))
    events = registry.active().store(StoreKind.STREAM_EVENTS)
    events.append(StreamEvent("grants", 1, "e", {}))
    registry.close()
    anon = {"apikey": ANON_KEY, "Authorization": f"Bearer {ANON_KEY}"}
    read = httpx.get(f"{project.url}/rest/v1/stream_events", headers=anon)
    write = httpx.post(f"{project.url}/rest/v1/stream_events", headers=anon,
                       json={"loop_id": "x", "cycle": 1, "event_type": "e",
                             "event_data": "{}", "timestamp": "t"})
    assert read.status_code == 401 and write.status_code == 401
    _sql(database, "GRANT SELECT, INSERT ON stream_events TO anon")  # RLS still holds
    read = httpx.get(f"{project.url}/rest/v1/stream_events", headers=anon)
    assert read.status_code == 200 and read.json() == []
    conn = admin_connection(database)
    with conn.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM stream_events")
        assert cursor.fetchone() == (1,)
        cursor.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
                       " AND NOT rowsecurity")
        assert cursor.fetchone() == (0,)
    conn.close()


def test_missing_grants_are_a_grants_error_with_the_fix_and_migrate_restores_them(
        supabase_backend: Any, project_database: str) -> None:
    events = supabase_backend.store(StoreKind.STREAM_EVENTS)
    _sql(project_database, "REVOKE ALL ON stream_events FROM service_role")
    with pytest.raises(GrantsMissingError) as error:
        events.append(StreamEvent("revoked", 1, "e", {}))
    assert "GRANT" in error.value.hint and "migrate --migrate" in error.value.hint
    assert not isinstance(error.value, KeyRejectedError)
    registry = Registry(supabase_backend.settings)
    report = registry.hook.storage_migrate(backend=registry.active(),
                                           request=MigrationRequest(MigrationAction.MIGRATE))
    assert report.databases[0].ran == []  # nothing pending, and yet the grants are back
    assert events.append(StreamEvent("revoked", 1, "e", {}))
    registry.close()


@pytest.fixture
def own_project(supabase_backend: Any, project_database: str) -> Iterator[TestProject]:
    """A second PostgREST and gateway over the session's (migrated) database."""
    supabase_backend.store(StoreKind.STREAM_EVENTS)
    with TestProject(project_database, upstream_timeout=1.0) as project:
        yield project


def test_postgrest_down_behind_the_gateway_is_a_502_and_unavailable(
        own_project: TestProject) -> None:
    registry = Registry(env=env_of(own_project))
    events = registry.active().store(StoreKind.STREAM_EVENTS)
    own_project.postgrest.stop()
    with pytest.raises(BackendUnavailableError) as error:
        events.append(StreamEvent("down", 1, "e", {}))
    assert "HTTP 502" in error.value.message
    assert "may or may not have been applied" in error.value.message
    registry.close()


def test_a_stalled_database_is_the_gateways_504_and_unavailable(
        own_project: TestProject, project_database: str) -> None:
    registry = Registry(env=env_of(own_project))
    events = registry.active().store(StoreKind.STREAM_EVENTS)
    conn = admin_connection(project_database)
    conn.autocommit = False
    with conn.cursor() as cursor:
        cursor.execute("LOCK TABLE stream_events IN ACCESS EXCLUSIVE MODE")
    try:
        with pytest.raises(BackendUnavailableError) as error:
            events.append(StreamEvent("stalled", 1, "e", {}))
    finally:
        conn.rollback()
        conn.close()
    assert "HTTP 504" in error.value.message
    assert "may or may not have been applied" in error.value.message
    registry.close()


def test_postgrest_losing_its_database_is_its_503_and_unavailable(
        own_project: TestProject, project_database: str) -> None:
    registry = Registry(env=env_of(own_project))
    events = registry.active().store(StoreKind.STREAM_EVENTS)
    _sql("postgres", f'ALTER DATABASE "{project_database}" CONNECTION LIMIT 0')
    try:
        _sql("postgres", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE"
                         " datname = %s AND usename = 'authenticator'", (project_database,))
        errors: list[str] = []
        # First the lost connection (57P01); PGRST000 once PostgREST has tried to reconnect,
        # which under load can take a few more requests. Every answer must be "unavailable".
        while len(errors) < 10 and not any("PGRST000" in m for m in errors):
            with pytest.raises(BackendUnavailableError) as error:
                events.append(StreamEvent("lost", 1, "e", {}))
            errors.append(error.value.message)
    finally:
        _sql("postgres", f'ALTER DATABASE "{project_database}" CONNECTION LIMIT -1')
    assert any("PGRST000" in message for message in errors)
    assert all("may or may not have been applied" in message for message in errors)
    registry.close()


@pytest.mark.parametrize("flavour", ["hosted", "kong"])
def test_both_gateways_401s_are_the_rejected_key_error(
        flavour: str, project_database: str) -> None:
    with TestProject(project_database, flavour=flavour) as project:
        with pytest.raises(KeyRejectedError) as wrong:
            Registry(env=env_of(project, key=KEY[::-1])).active()
        registry = Registry(env=env_of(project))
        api = registry.active().project
        with pytest.raises(GatewayAnswer) as answer:  # no apikey header at all
            api.http.get(f"{project.url}/rest/v1/stream_events")
        missing = api.translate(answer.value, "read")
        registry.close()
    expected = {"hosted": "Invalid API key", "kong": "Invalid authentication credentials"}
    assert isinstance(wrong.value, KeyRejectedError)
    assert expected[flavour] in wrong.value.message
    assert KEY[::-1] not in str(wrong.value)
    assert isinstance(missing, KeyRejectedError)
    assert "No API key found in request" in missing.message


def test_concurrent_appends_through_the_gateway_keep_every_event(supabase_backend: Any) -> None:
    events = supabase_backend.store(StoreKind.STREAM_EVENTS)

    def append(n: int) -> None:
        events.append_many([StreamEvent("threads", n, "e", {"i": i}) for i in range(20)])

    threads = [threading.Thread(target=append, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(events.read("threads", limit=1000)) == 80
