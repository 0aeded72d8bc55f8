"""The seed's own API as SEED-DATABASE.md writes it, and the layout found on disk."""

from __future__ import annotations

import re
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from aragora_storage_core import (
    AuditStore,
    DatabaseManager,
    OrganizationStore,
    ShareLinkStore,
    UserStore,
    WebhookStore,
    get_wal_connection,
)
from aragora_storage_core.cli import main
from aragora_storage_core.models import AuditEntry, User
from aragora_storage_core.registry import Registry
from aragora_storage_core.seed_stores import close_all
from aragora_storage_core.settings import Settings
from tests.layout_facts import FACTS_FILE

SEED = (FACTS_FILE.parent / "SEED-DATABASE.md").read_text(encoding="utf-8")
#: The seed's module names -> ours; nothing else of the examples is changed.
MODULES = {
    "aragora.storage.schema": "aragora_storage_core",
    "aragora.storage.user_store": "aragora_storage_core",
    "aragora.storage.audit_store": "aragora_storage_core",
    "aragora.storage.encrypted": "aragora_storage_core",
    "aragora.persistence.db_config": "aragora_storage_core",
}


def seed_examples(*needles: str) -> list[str]:
    """The seed's Python code blocks that mention every one of ``needles``."""
    blocks = re.findall(r"```python\n(.*?)```", SEED, re.S)
    return [b for b in blocks if all(n in b for n in needles)]


def as_ours(code: str, tmp_path: Path) -> str:
    for seed, ours in MODULES.items():
        code = code.replace(seed, ours)
    return code.replace("/path/to/", f"{tmp_path}/")


@pytest.fixture(autouse=True)
def _close(clean_environment: Path) -> Any:
    yield
    close_all()
    DatabaseManager.close_all()


def test_the_seeds_examples_run_as_written(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    blocks = [*seed_examples("get_wal_connection"), *seed_examples("UserStore(db_path="),
              *seed_examples("DatabaseManager.get_instance"),
              *seed_examples("get_db_path(DatabaseType.ELO)")]
    assert len(blocks) == 5
    namespace: dict[str, Any] = {"db_path": str(tmp_path / "audit.db")}  # one reader's session
    (audit,) = seed_examples("AuditStore(db_path)")
    for block in [*blocks, audit]:
        exec(compile(as_ours(block, tmp_path), "SEED-DATABASE.md", "exec"), namespace)
    assert "('wal',)" in capsys.readouterr().out
    assert (tmp_path / "users.db").exists() and (tmp_path / "audit.db").exists()


def test_seed_store_classes_open_one_file_and_share_it(tmp_path: Path) -> None:
    path = tmp_path / "accounts.db"
    users = UserStore(db_path=str(path))
    users.create(User("u1", "ada@example.com", "h", "s"))
    assert UserStore(db_path=path).get_by_email("ada@example.com").id == "u1"  # type: ignore[union-attr]
    store = AuditStore(path)
    store.log_many([AuditEntry("login", user_id="u1", timestamp="2000-01-01T00:00:00+00:00")])
    assert store.cleanup_old_entries() == 1
    for store_class in (OrganizationStore, ShareLinkStore, WebhookStore):
        assert store_class(path) is not None
    tables = {r[0] for r in sqlite3.connect(path).execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"users", "audit_log", "share_links", "webhooks", "organizations"} <= tables
    assert {p.name for p in tmp_path.glob("*.db")} == {"accounts.db"}  # one file, no other


def test_seed_store_classes_without_a_path_use_the_configured_backend(
        clean_environment: Path) -> None:
    UserStore().create(User("u2", "bob@example.com", "h", "s"))
    assert (clean_environment / ".nomic" / "users.db").exists()


def test_a_wal_connection_keeps_sqlite3s_transactions(tmp_path: Path) -> None:
    conn = get_wal_connection(tmp_path / "t.db")
    conn.execute("CREATE TABLE t (x)")
    conn.execute("INSERT INTO t VALUES (1)")
    assert conn.in_transaction
    conn.rollback()
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)
    conn.execute("INSERT INTO t VALUES (2)")
    conn.commit()
    other = sqlite3.connect(tmp_path / "t.db")
    assert other.execute("SELECT x FROM t").fetchall() == [(2,)]
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert conn.execute("PRAGMA foreign_keys").fetchone() == (1,)


def test_database_manager_waits_for_a_writer_instead_of_failing(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    manager = DatabaseManager.get_instance(path, 30.0)
    assert DatabaseManager.get_instance("busy", path) is manager
    with manager.connection() as conn:
        conn.execute("CREATE TABLE t (x)")
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO t VALUES ('held')")
    release = threading.Timer(0.3, holder.execute, args=("COMMIT",))
    release.start()
    with manager.transaction() as conn:  # waits for the holder (seed: "database is locked")
        conn.execute("INSERT INTO t VALUES ('mine')")
    release.join()
    with pytest.raises(RuntimeError), manager.connection() as conn:
        conn.execute("INSERT INTO t VALUES ('undone')")
        raise RuntimeError("rolls back")
    rows = sorted(r[0] for r in manager.get_connection().execute("SELECT x FROM t"))
    assert rows == ["held", "mine"]


def test_a_consolidated_only_data_dir_is_used_as_consolidated_with_the_mode_unset(
        clean_environment: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    data = clean_environment / "data"
    registry = Registry(Settings.from_env({"ARAGORA_DATA_DIR": str(data),
                                           "ARAGORA_DB_MODE": "consolidated"}))
    registry.store("users").create(User("u1", "ada@example.com", "h", "s"))
    registry.close()
    unset = Registry(Settings.from_env({"ARAGORA_DATA_DIR": str(data)}))
    selection = unset.explain()
    assert selection.source == "files" and "mode=consolidated" in selection.url.render()
    assert "consolidated files only (core.db)" in selection.reason
    assert unset.store("users").get_by_id("u1") is not None
    unset.close()
    assert sorted(p.name for p in data.glob("*.db")) == ["core.db"]  # no empty legacy file
    monkeypatch.setenv("ARAGORA_DATA_DIR", str(data))
    main(["doctor"])
    assert "(chosen by files: ARAGORA_DB_MODE unset and" in capsys.readouterr().out
    (data / "users.db").write_bytes((data / "core.db").read_bytes())
    mixed = Registry(Settings.from_env({"ARAGORA_DATA_DIR": str(data)}))
    assert mixed.explain().source == "default"
    mixed.close()
    main(["doctor"])
    out = capsys.readouterr().out
    assert "storage.W120" in out and "the legacy files (the seed's default) are used" in out
