"""``storage_health`` findings, and the whole plugin on a server where KEYS does not exist."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from redis_servers import RedisServerProcess

from aragora_storage_core.backup.types import BackupRequest, RestoreRequest
from aragora_storage_core.checks import Check, Level
from aragora_storage_core.migrations.types import MigrationAction, MigrationRequest
from aragora_storage_core.models import StreamEvent
from aragora_storage_core.registry import Registry


def health(url: str) -> list[Check]:
    registry = Registry(env={"DATABASE_URL": url})
    try:
        return registry.host.collect_health(registry.active())
    finally:
        registry.close()


def by_id(checks: list[Check]) -> dict[str, Check]:
    return {check.id: check for check in checks}


@pytest.fixture
def volatile(tmp_path: Path) -> Iterator[RedisServerProcess]:
    """A server that keeps nothing on disk (like the shared one)."""
    server = RedisServerProcess(tmp_path / "volatile").start()
    yield server
    server.stop()


def test_healthy_server_reports_latency_version_and_memory(
        volatile: RedisServerProcess) -> None:
    checks = by_id(health(volatile.url()))
    assert checks["storage.I110"].data is not None
    assert checks["storage.I110"].data["latency_ms"] >= 0
    info = redis.Redis(port=volatile.port).info("server")
    assert checks["storage.I111"].data is not None
    assert checks["storage.I111"].data["version"] == info["redis_version"]
    assert checks["storage.I111"].data["used_memory"] > 0
    assert max(c.level for c in checks.values()) < Level.ERROR


def test_server_keeping_nothing_on_disk_warns_because_of_the_token_blacklist(
        volatile: RedisServerProcess) -> None:
    warning = by_id(health(volatile.url()))["storage.W112"]
    assert warning.level is Level.WARNING
    assert "keeps nothing on disk" in warning.message and "token_blacklist" in warning.message
    assert "appendonly yes" in warning.hint


def test_persistent_server_does_not_warn_but_token_evicting_policy_does(
        tmp_path: Path) -> None:
    server = RedisServerProcess(tmp_path / "durable", "--appendonly", "yes",
                                "--maxmemory-policy", "allkeys-lru").start()
    try:
        checks = by_id(health(server.url()))
    finally:
        server.stop()
    assert "storage.W112" not in checks
    assert "allkeys-lru may evict revoked tokens" in checks["storage.W116"].message


def test_server_gone_since_connect_is_an_error_finding_not_a_crash(
        volatile: RedisServerProcess) -> None:
    registry = Registry(env={"DATABASE_URL": volatile.url(query="connect_timeout=1&retries=0")})
    try:
        backend = registry.active()
        volatile.stop()
        checks = by_id(registry.host.collect_health(backend))
    finally:
        registry.close()
    assert checks["storage.E110"].level is Level.ERROR
    assert "cannot reach redis" in checks["storage.E110"].message


def test_every_operation_works_on_a_server_without_keys_or_flush_commands(
        tmp_path: Path) -> None:
    server = RedisServerProcess(tmp_path / "nokeys", "--rename-command", "KEYS", "",
                                "--rename-command", "FLUSHDB", "",
                                "--rename-command", "FLUSHALL", "").start()
    registry = Registry(env={"DATABASE_URL": server.url()})
    try:
        raw = redis.Redis(port=server.port)
        with pytest.raises(redis.ResponseError, match="unknown command"):
            raw.keys("*")
        raw.set("aragora:blacklist:old", b"u1", ex=600)
        backend = registry.active()
        backend.store("token_blacklist").revoke_many(
            [("j", datetime.now(UTC) + timedelta(hours=1))])
        backend.store("stream_events").append(StreamEvent("loop", 1, "tick", {}))
        backend.store("cache").set("k", b"v", ttl_seconds=60)
        hook = registry.hook
        hook.storage_migrate(backend=backend, request=MigrationRequest(MigrationAction.MIGRATE))
        (tmp_path / "backup").mkdir()
        hook.storage_backup(backend=backend, request=BackupRequest(tmp_path / "backup"))
        hook.storage_restore(backend=backend, request=RestoreRequest(tmp_path / "backup"))
        assert backend.store("token_blacklist").is_revoked("old") is True
        assert len(backend.store("stream_events").read("loop")) == 1
        assert [c for c in registry.host.collect_health(backend) if c.level >= Level.ERROR] == []
        raw.close()
    finally:
        registry.close()
        server.stop()
