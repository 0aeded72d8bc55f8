"""REDIS_URL beside a primary backend, and Redis as the only backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from aragora_storage_redis.backend import RedisBackend
from aragora_storage_redis.stores import (
    RedisCacheStore,
    RedisStreamEventStore,
    RedisTokenBlacklistStore,
)
from redis_servers import free_port

from aragora_storage_core.doctor import diagnose
from aragora_storage_core.errors import StoreNotServedError
from aragora_storage_core.models import User
from aragora_storage_core.registry import Registry


def test_redis_url_beside_sqlite_serves_the_redis_stores_and_sqlite_the_rest(
        redis_url: str, tmp_path: Path, shared_client: redis.Redis, prefix: str) -> None:
    registry = Registry(env={"DATABASE_URL": f"sqlite:///{tmp_path}/data",
                             "REDIS_URL": redis_url})
    try:
        blacklist = registry.store("token_blacklist")
        assert isinstance(blacklist, RedisTokenBlacklistStore)
        assert isinstance(registry.store("stream_events"), RedisStreamEventStore)
        assert isinstance(registry.store("cache"), RedisCacheStore)
        assert isinstance(registry.route("token_blacklist"), RedisBackend)
        assert registry.route("users").name == "sqlite"
        registry.store("users").create(
            User(id="u1", email="a@example.com", password_hash="h", password_salt="s"))
        assert registry.store("users").get_by_id("u1") is not None
        blacklist.revoke("jti", datetime.now(UTC) + timedelta(hours=1))
        assert shared_client.exists(f"{prefix}token:jti") == 1
        assert not (tmp_path / "data" / "token_blacklist.db").exists()
    finally:
        registry.close()


def test_aragora_redis_url_alias_routes_the_same_way(redis_url: str, tmp_path: Path) -> None:
    registry = Registry(env={"DATABASE_URL": f"sqlite:///{tmp_path}/data",
                             "ARAGORA_REDIS_URL": redis_url})
    try:
        assert isinstance(registry.store("cache"), RedisCacheStore)
    finally:
        registry.close()


def test_without_redis_url_the_primary_serves_the_token_blacklist(tmp_path: Path) -> None:
    registry = Registry(env={"DATABASE_URL": f"sqlite:///{tmp_path}/data"})
    try:
        assert registry.route("token_blacklist").name == "sqlite"
    finally:
        registry.close()


def test_redis_as_the_only_backend_serves_its_stores(redis_url: str) -> None:
    registry = Registry(env={"DATABASE_URL": redis_url})
    try:
        assert isinstance(registry.store("token_blacklist"), RedisTokenBlacklistStore)
        assert registry.route("stream_events") is registry.active()
    finally:
        registry.close()


def test_redis_as_the_only_backend_refuses_users_naming_the_backends_that_serve_it(
        redis_url: str) -> None:
    registry = Registry(env={"DATABASE_URL": redis_url})
    try:
        with pytest.raises(StoreNotServedError) as caught:
            registry.store("users")
        text = str(caught.value)
        assert "redis does not serve the users store" in text
        assert "sqlite" in text
    finally:
        registry.close()


def test_redis_url_beside_postgresql_serves_the_redis_stores_and_postgresql_the_rest(
        redis_url: str, postgres_url: str) -> None:
    registry = Registry(env={"DATABASE_URL": postgres_url, "REDIS_URL": redis_url,
                             "ARAGORA_AUTO_MIGRATE": "1"})  # PostgreSQL waits for migrate
    try:
        assert isinstance(registry.store("token_blacklist"), RedisTokenBlacklistStore)
        assert isinstance(registry.store("stream_events"), RedisStreamEventStore)
        users = registry.store("users")
        assert registry.route("users").name == "postgresql"
        users.create(User(id="u1", email="a@example.com", password_hash="h", password_salt="s"))
        assert users.get_by_id("u1") is not None
    finally:
        registry.close()


def test_importing_the_plugin_imports_no_redis_driver() -> None:
    import subprocess
    import sys

    code = ("import sys, aragora_storage_redis as p;"
            "assert 'redis' not in sys.modules, 'redis imported';"
            "assert p.STORES == p.RedisBackend.stores_served")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_doctor_with_redis_unreachable_does_not_show_the_primary_serving_its_stores(
        tmp_path: Path) -> None:
    """The stores REDIS_URL routes fail without Redis: doctor must not say SQLite has them."""
    unreachable = f"redis://127.0.0.1:{free_port()}/0?connect_timeout=1"
    diagnosis = diagnose(env={"ARAGORA_DATA_DIR": str(tmp_path / "data"),
                              "REDIS_URL": unreachable})
    for kind in ("token_blacklist", "stream_events", "cache"):
        assert diagnosis.routing[kind] == "redis (unreachable)"
    assert diagnosis.routing["users"] == "sqlite"
    assert any("cannot reach redis" in f.message for f in diagnosis.findings)
