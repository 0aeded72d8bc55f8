"""The seed's dual storage: Supabase beside an explicitly chosen primary takes the seed's
Supabase tables, the primary the rest; Supabase alone is the only backend."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aragora_storage_supabase.backend import SupabaseBackend

from aragora_storage_core.cli import main
from aragora_storage_core.doctor import diagnose
from aragora_storage_core.errors import ConfigurationError
from aragora_storage_core.models import NomicCycle, User
from aragora_storage_core.registry import SUPABASE_ROUTED, Registry
from aragora_storage_core.stores.protocols import StoreKind
from tests.postgres.conftest import admin_connection
from tests.supabase.supabase_support import KEY, TestProject

pytestmark = pytest.mark.postgres
SEED_SUPABASE = {"nomic_cycles", "debate_artifacts", "stream_events", "agent_metrics"}


def _primaries(tmp_path: Path) -> list[dict[str, str]]:
    return [{"DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}"},
            {"ARAGORA_DB_MODE": "legacy", "ARAGORA_DATA_DIR": str(tmp_path / "data")}]


@pytest.mark.parametrize("primary", [0, 1], ids=["DATABASE_URL", "ARAGORA_DB_MODE"])
def test_supabase_beside_a_chosen_primary_takes_the_seeds_supabase_tables(
        primary: int, tmp_path: Path, supabase_env: dict[str, str],
        supabase_backend: Any, project_database: str) -> None:
    registry = Registry(env=supabase_env | _primaries(tmp_path)[primary])
    selection = registry.explain()
    assert selection.scheme == "sqlite" and selection.supabase_url is not None
    assert "Supabase beside it" in selection.reason
    assert KEY not in str(selection.to_dict())
    for kind in StoreKind:
        expected = "supabase" if kind.value in SEED_SUPABASE else "sqlite"
        assert registry.route(kind).name == expected, kind
    registry.store("nomic_cycles").save_cycle(
        NomicCycle("dual", 1, "debate", "voting", datetime(2026, 1, 2, tzinfo=UTC)))
    registry.store("users").create(User(id="u1", email="a@example.com", password_hash="h",
                                        password_salt="s"))
    conn = admin_connection(project_database)
    with conn.cursor() as cursor:
        cursor.execute("SELECT loop_id FROM nomic_cycles")
        assert cursor.fetchall() == [("dual",)]
    conn.close()
    assert registry.active().store(StoreKind.USERS).get_by_id("u1") is not None
    registry.close()


def test_supabase_alone_is_the_only_backend(supabase_env: dict[str, str]) -> None:
    registry = Registry(env=supabase_env)
    assert isinstance(registry.active(), SupabaseBackend)
    assert registry.supabase() is None and registry.explain().supabase_url is None
    assert all(registry.route(kind) is registry.active() for kind in SUPABASE_ROUTED)
    registry.close()


def test_redis_keeps_stream_events_when_set_too(tmp_path: Path,
                                                supabase_env: dict[str, str]) -> None:
    env = supabase_env | _primaries(tmp_path)[0] | {"REDIS_URL": "redis://127.0.0.1:6379/0"}
    diagnosis = diagnose(env=env)
    routing = diagnosis.routing
    assert routing["stream_events"] == "redis" and routing["nomic_cycles"] == "supabase"
    assert routing["users"] == "sqlite" and routing["token_blacklist"] == "redis"


def test_a_supabase_url_without_its_key_beside_database_url_is_an_error(
        tmp_path: Path, postgrest: TestProject) -> None:
    env = {"SUPABASE_URL": postgrest.url} | _primaries(tmp_path)[0]
    with pytest.raises(ConfigurationError, match="SUPABASE_KEY"):
        Registry(env=env).explain()


def test_doctor_shows_the_routing_and_checks_both_backends(
        tmp_path: Path, supabase_env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    for name, value in (supabase_env | _primaries(tmp_path)[0]).items():
        monkeypatch.setenv(name, value)
    main(["doctor", "-v"])
    out = capsys.readouterr().out
    assert "supabase: supabase://" in out
    assert ("stores:   supabase: agent_metrics, debate_artifacts, nomic_cycles, stream_events"
            in out)
    assert "stores:   sqlite: " in out and "users" in out
    assert "storage.I090" in out  # the Supabase project's own health findings
    assert KEY not in out


def test_unreachable_supabase_beside_shows_in_the_routing(tmp_path: Path) -> None:
    from tests.postgres.cluster import free_port

    env = {"SUPABASE_URL": f"http://127.0.0.1:{free_port()}", "SUPABASE_KEY": KEY,
           **_primaries(tmp_path)[0]}
    diagnosis = diagnose(env=env)
    assert diagnosis.routing["nomic_cycles"] == "supabase (unreachable)"
    assert diagnosis.routing["users"] == "sqlite"
    assert any("cannot reach" in f.message for f in diagnosis.findings)
