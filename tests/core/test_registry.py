"""The registry: lookups, routing, store errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from aragora_storage_core import get_registry, reset_registry
from aragora_storage_core.errors import StoreNotServedError
from aragora_storage_core.registry import Registry
from aragora_storage_core.stores import StoreKind, UserStore


def test_get_registry_is_shared_and_follows_the_environment(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ARAGORA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ARAGORA_DB_MODE", "consolidated")
    registry = get_registry()
    assert get_registry() is registry
    assert registry.explain().source == "ARAGORA_DB_MODE"
    registry.store("users").count()
    assert (tmp_path / "data" / "core.db").exists()
    reset_registry()
    assert get_registry() is not registry


def test_stores_are_built_once_and_match_their_protocol(tmp_path: Path) -> None:
    registry = Registry(env={"ARAGORA_DATA_DIR": str(tmp_path)})
    users = registry.store(StoreKind.USERS)
    assert registry.store("users") is users
    assert isinstance(users, UserStore)
    registry.close()


def test_unknown_store_name_is_rejected(tmp_path: Path) -> None:
    registry = Registry(env={"ARAGORA_DATA_DIR": str(tmp_path)})
    with pytest.raises(ValueError):
        registry.store("nonsense")


def test_sqlite_does_not_serve_the_cache_store(tmp_path: Path) -> None:
    registry = Registry(env={"ARAGORA_DATA_DIR": str(tmp_path)})
    with pytest.raises(StoreNotServedError) as caught:
        registry.store("cache")
    assert "cache" in caught.value.message and "redis" in caught.value.message


def test_backends_list_without_importing_then_with_stores() -> None:
    registry = Registry(env={})
    listed = {b.name: b for b in registry.backends()}
    assert listed["sqlite"].status == "not loaded" and listed["sqlite"].stores == ()
    loaded = {b.name: b for b in registry.backends(load=True)}
    assert loaded["sqlite"].status == "loaded" and "users" in loaded["sqlite"].stores
    assert loaded["sqlite"].distribution == "aragora-storage"


def test_close_closes_backends_opened_with_connect(tmp_path: Path) -> None:
    import sqlite3

    from aragora_storage_core.layout import DatabaseType

    registry = Registry(env={})
    backend = registry.connect(f"sqlite:///{tmp_path}/one.db")
    backend.store("users").count()
    connection = backend.database_for(DatabaseType.USERS).connection()  # type: ignore[attr-defined]
    registry.close()
    with pytest.raises(sqlite3.ProgrammingError):
        connection.execute("SELECT 1")


def test_store_by_protocol_class_is_the_same_store_as_by_name(tmp_path: Path) -> None:
    from aragora_storage_core.stores import UserStore, WebhookStore
    from aragora_storage_core.stores.table import kind_of

    registry = Registry(env={"DATABASE_URL": f"sqlite:///{tmp_path}/app.db"})
    users = registry.store(UserStore)
    assert users is registry.store("users") is registry.store(StoreKind.USERS)
    assert isinstance(users, UserStore)
    assert kind_of(WebhookStore) is StoreKind.WEBHOOKS
    with pytest.raises(ValueError, match="not a store protocol"):
        registry.store(Registry)
    registry.close()
