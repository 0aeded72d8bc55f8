"""The one mapping table holds the real application's layout, and the path API."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import aragora_storage_core as core
from aragora_storage_core.layout import (
    DATABASE_INFO,
    DATABASES,
    DB_NAMES,
    TABLES,
    DatabaseMode,
    DatabaseType,
    Naming,
    get_db_mode,
    get_db_path,
)
from aragora_storage_core.migrations.engine import Migrator
from aragora_storage_core.migrations.files import ROOT
from aragora_storage_core.sqlite.database import SQLiteDatabase
from tests.layout_facts import facts

FACTS = facts()


def test_database_type_has_every_member_of_the_application_with_its_value() -> None:
    for entry in FACTS["database_types"]:
        member = DatabaseType[entry["member"]]
        assert member.value == entry["value"]
        info = DATABASE_INFO[member]
        assert (info.legacy_file, info.home.filename) == (entry["legacy_file"],
                                                          entry["consolidated"])
    assert DATABASE_INFO[DatabaseType.GENOMES] is DATABASE_INFO[DatabaseType.GENESIS]
    for account in FACTS["also_legacy_outside_database_type"]:
        assert account in {info.legacy_file for info in DATABASES}


def test_db_names_are_the_applications() -> None:
    assert dict(DB_NAMES) == FACTS["db_names"]


def test_every_table_the_application_consolidates_is_mapped_with_its_rename() -> None:
    mapped = {(info.legacy_file, t.named(Naming.LEGACY)): (info.home.filename, t.name)
              for info in DATABASES for t in info.tables}
    for table in FACTS["tables"]:
        key = (table["source_file"], table["source_table"])
        assert mapped[key] == (table["target_file"], table["target_table"]), key
    legacy_files = {t["source_file"] for t in FACTS["tables"]}
    assert len(legacy_files) == 22 and len(FACTS["tables"]) == 56
    assert len(TABLES) == sum(len(i.tables) for i in DATABASES), "a shared name clashes"


@pytest.mark.parametrize("naming", list(Naming))
def test_migrations_create_the_applications_columns_types_and_not_nulls(
        naming: Naming) -> None:
    shared = SQLiteDatabase(":memory:")  # SHARED: every table in one database, no clash
    by_file = {info.legacy_file: info for info in DATABASES}
    for table in FACTS["tables"]:
        info = by_file[table["source_file"]]
        database = shared if naming is Naming.SHARED else SQLiteDatabase(":memory:")
        Migrator(database, info.type.value, "t", ROOT, info.names(naming)).migrate()
        entry = next(t for t in info.tables if t.name == table["target_table"])
        rows = database.fetch_all(f"PRAGMA table_info({entry.named(naming)})")
        assert {r[1]: r[2] for r in rows} == table["columns"], entry
        assert {r[1] for r in rows if r[3]} == set(table["not_null"]), entry
        if database is not shared:
            database.close()
    shared.close()


def test_legacy_naming_gives_the_legacy_files_their_own_table_names(tmp_path: Path) -> None:
    path = tmp_path / "continuum.db"
    info = DATABASE_INFO[DatabaseType.CONTINUUM_MEMORY]
    database = SQLiteDatabase(path)
    Migrator(database, info.type.value, "t", ROOT, info.names(Naming.LEGACY)).migrate()
    database.close()
    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"memories", "archive", "tier_transitions"} <= tables
    assert "continuum_memory" not in tables


def test_get_db_path_follows_mode_and_data_dir(tmp_path: Path) -> None:
    env = {"ARAGORA_DATA_DIR": str(tmp_path)}
    assert get_db_path(DatabaseType.ELO, env=env) == tmp_path / "agent_elo.db"
    assert get_db_path(DatabaseType.GENOMES, env=env) == tmp_path / "genesis.db"
    env["ARAGORA_DB_MODE"] = "consolidated"
    assert get_db_path(DatabaseType.ELO, env=env) == tmp_path / "analytics.db"
    assert get_db_path("users", nomic_dir="/x", mode="legacy", env={}) == Path("/x/users.db")


def test_unset_mode_follows_the_files_on_disk(tmp_path: Path) -> None:
    env = {"ARAGORA_DATA_DIR": str(tmp_path)}
    assert get_db_mode(env) is DatabaseMode.LEGACY  # empty: the seed's default
    (tmp_path / "analytics.db").write_bytes(b"")
    assert get_db_mode(env) is DatabaseMode.CONSOLIDATED
    assert get_db_path(DatabaseType.ELO, env=env) == tmp_path / "analytics.db"
    (tmp_path / "agent_elo.db").write_bytes(b"")
    assert get_db_mode(env) is DatabaseMode.LEGACY  # both kinds: legacy stands


def test_legacy_override_variable_moves_one_file() -> None:
    env = {"ARAGORA_DB_USERS": "/secure/users.db", "ARAGORA_DB_GENESIS": "/g.db"}
    assert get_db_path(DatabaseType.USERS, env=env) == Path("/secure/users.db")
    assert get_db_path(DatabaseType.GENOMES, env=env) == Path("/g.db")
    assert get_db_path(DatabaseType.ELO, env=env) == Path(".nomic/agent_elo.db")


def test_seed_api_is_importable_from_the_package_top() -> None:
    assert core.get_db_mode(env={"ARAGORA_DATA_DIR": "/nonexistent"}) is \
        core.DatabaseMode.LEGACY
    assert core.get_db_path(core.DatabaseType.ELO, mode="consolidated", env={}).name == \
        "analytics.db"
    assert callable(core.get_wal_connection) and callable(core.safe_add_column)
    assert hasattr(core.DatabaseManager, "get_instance")


def test_get_db_mode_rejects_unknown_modes() -> None:
    assert get_db_mode({"ARAGORA_DB_MODE": "CONSOLIDATED"}) is DatabaseMode.CONSOLIDATED
    with pytest.raises(core.errors.ConfigurationError):  # type: ignore[attr-defined]
        get_db_mode({"ARAGORA_DB_MODE": "both"})
