"""The one mapping table and the seed-compatible path API."""

from __future__ import annotations

from pathlib import Path

import pytest

import aragora_storage_core as core
from aragora_storage_core.layout import (
    DATABASES,
    DB_NAMES,
    TABLES,
    ConsolidatedDatabase,
    DatabaseMode,
    DatabaseType,
    get_db_mode,
    get_db_path,
)
from aragora_storage_core.migrations.files import ROOT, discover, split_statements

SEED_LEGACY_FILES = {
    "agent_elo.db", "continuum.db", "consensus_memory.db", "agora_memory.db",
    "agent_calibration.db", "aragora_insights.db", "agent_personas.db",
    "grounded_positions.db", "genesis.db", "token_blacklist.db", "users.db",
    "persona_lab.db", "agent_relationships.db",
}
SEED_KEY_TABLES = {
    ConsolidatedDatabase.CORE: {"debates", "traces", "positions", "embeddings"},
    ConsolidatedDatabase.MEMORY: {"continuum_memory", "consensus", "patterns"},
    ConsolidatedDatabase.ANALYTICS: {"ratings", "matches", "elo_history", "insights"},
    ConsolidatedDatabase.AGENTS: {"personas", "genomes", "relationships"},
}


def test_every_seed_legacy_file_is_in_the_mapping() -> None:
    assert set(DB_NAMES.values()) >= SEED_LEGACY_FILES


def test_seed_key_tables_live_in_their_consolidated_database() -> None:
    for home, tables in SEED_KEY_TABLES.items():
        homes = {info.home for info in DATABASES if set(info.tables) & tables}
        assert homes == {home}


def test_every_mapped_table_is_created_by_its_database_migrations() -> None:
    for info in DATABASES:
        created = set()
        for migration in discover(info.type.value, ROOT):
            for statement in split_statements(migration.path.read_text()):
                code = [ln for ln in statement.splitlines() if not ln.startswith("--")]
                words = " ".join(code).split()
                if words[:2] == ["CREATE", "TABLE"]:
                    created.add(words[2])
        assert set(info.tables) == created, info.type
    assert len(TABLES) == sum(len(i.tables) for i in DATABASES), "a table is mapped twice"


def test_get_db_path_follows_mode_and_data_dir() -> None:
    env = {"ARAGORA_DATA_DIR": "/d"}
    assert get_db_path(DatabaseType.ELO, env=env) == Path("/d/agent_elo.db")
    env["ARAGORA_DB_MODE"] = "consolidated"
    assert get_db_path(DatabaseType.ELO, env=env) == Path("/d/analytics.db")
    assert get_db_path("users", nomic_dir="/x", mode="legacy", env={}) == Path("/x/users.db")


def test_legacy_override_variable_moves_one_file() -> None:
    env = {"ARAGORA_DB_USERS": "/secure/users.db"}
    assert get_db_path(DatabaseType.USERS, env=env) == Path("/secure/users.db")
    assert get_db_path(DatabaseType.ELO, env=env) == Path(".nomic/agent_elo.db")


def test_seed_api_is_importable_from_the_package_top() -> None:
    assert core.get_db_mode(env={}) is core.DatabaseMode.LEGACY
    assert core.get_db_path(core.DatabaseType.ELO, mode="consolidated", env={}).name == \
        "analytics.db"
    assert callable(core.get_wal_connection) and callable(core.safe_add_column)
    assert hasattr(core.DatabaseManager, "get_instance")


def test_get_db_mode_rejects_unknown_modes() -> None:
    assert get_db_mode({"ARAGORA_DB_MODE": "CONSOLIDATED"}) is DatabaseMode.CONSOLIDATED
    with pytest.raises(core.errors.ConfigurationError):  # type: ignore[attr-defined]
        get_db_mode({"ARAGORA_DB_MODE": "both"})
