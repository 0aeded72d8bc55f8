"""Keyspace version and data migrations through ``storage_migrate``."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from aragora_storage_redis.backend import RedisBackend
from aragora_storage_redis.migrations import MIGRATIONS

from aragora_storage_core.cli import main
from aragora_storage_core.errors import ChecksumMismatchError, MigrationError
from aragora_storage_core.migrations.types import (
    MigrationAction,
    MigrationReport,
    MigrationRequest,
)
from aragora_storage_core.registry import Registry

LATEST = len(MIGRATIONS)


def run(backend: RedisBackend, action: MigrationAction, **kwargs: object) -> MigrationReport:
    registry = Registry(backend.settings)
    registry.host.load_backend("redis")
    report = registry.hook.storage_migrate(backend=backend,
                                           request=MigrationRequest(action, **kwargs))
    assert isinstance(report, MigrationReport)
    return report


@pytest.fixture
def fresh(redis_url: str) -> RedisBackend:
    """A backend that does not migrate on first store use."""
    backend = Registry(env={"ARAGORA_AUTO_MIGRATE": "0"}).connect(redis_url)
    assert isinstance(backend, RedisBackend)
    return backend


def test_new_keyspace_has_every_migration_pending_and_no_version(
        fresh: RedisBackend, shared_client: redis.Redis, prefix: str) -> None:
    report = run(fresh, MigrationAction.STATUS)
    [status] = report.databases
    assert status.db == "keyspace" and status.version == 0
    assert [m.name for m in status.pending] == ["rename_blacklist_keys", "token_values_as_json"]
    assert shared_client.get(f"{prefix}meta:version") is None


def test_migrate_applies_in_order_and_records_the_keyspace_version(
        fresh: RedisBackend, shared_client: redis.Redis, prefix: str) -> None:
    report = run(fresh, MigrationAction.MIGRATE)
    assert report.databases[0].ran == ["001_rename_blacklist_keys", "002_token_values_as_json"]
    assert shared_client.get(f"{prefix}meta:version") == str(LATEST).encode()
    again = run(fresh, MigrationAction.MIGRATE)
    assert again.databases[0].ran == [] and again.pending_count == 0


def test_migrate_to_a_target_stops_there(fresh: RedisBackend) -> None:
    report = run(fresh, MigrationAction.MIGRATE, target=1)
    assert report.databases[0].ran == ["001_rename_blacklist_keys"]
    assert report.databases[0].version == 1 and report.pending_count == 1


def test_dry_run_changes_nothing(
        fresh: RedisBackend, shared_client: redis.Redis, prefix: str) -> None:
    assert run(fresh, MigrationAction.DRY_RUN).pending_count == LATEST
    assert shared_client.exists(f"{prefix}meta:version", f"{prefix}meta:migrations") == 0


def test_old_layout_is_renamed_and_re_encoded_keeping_expiry(
        fresh: RedisBackend, shared_client: redis.Redis, prefix: str) -> None:
    shared_client.set(f"{prefix}blacklist:jti-1", b"user-1", ex=600)
    shared_client.set(f"{prefix}blacklist:jti-2", b"", ex=600)
    run(fresh, MigrationAction.MIGRATE)
    assert shared_client.exists(f"{prefix}blacklist:jti-1") == 0
    value = json.loads(shared_client.get(f"{prefix}token:jti-1"))
    assert value == {"user_id": "user-1", "revoked_at": None}
    assert json.loads(shared_client.get(f"{prefix}token:jti-2"))["user_id"] is None
    assert 590_000 < shared_client.pttl(f"{prefix}token:jti-1") <= 600_000
    assert fresh.store("token_blacklist").is_revoked("jti-1") is True


def test_old_layout_under_a_non_ascii_prefix_keeps_each_token_id(
        shared_client: redis.Redis, prefix: str) -> None:
    """Key names are bytes: a prefix of multi-byte characters must not shift the token id."""
    unicode_prefix = f"{prefix}ümlaut-日本:"
    shared_client.set(f"{unicode_prefix}blacklist:jti-1".encode(), b"user-1", ex=600)
    backend = Registry(env={"ARAGORA_AUTO_MIGRATE": "0"}).connect(
        f"redis://127.0.0.1:6379/0?prefix={quote(unicode_prefix)}")
    assert isinstance(backend, RedisBackend) and backend.keys.prefix == unicode_prefix
    run(backend, MigrationAction.MIGRATE)
    assert shared_client.exists(f"{unicode_prefix}token:jti-1".encode()) == 1
    assert backend.store("token_blacklist").is_revoked("jti-1") is True
    backend.close()


def test_values_already_in_the_new_form_are_left_alone(
        fresh: RedisBackend, shared_client: redis.Redis, prefix: str) -> None:
    fresh.store("token_blacklist").revoke("new", datetime.now(UTC) + timedelta(hours=1), "u")
    before = shared_client.get(f"{prefix}token:new")
    run(fresh, MigrationAction.MIGRATE)
    assert shared_client.get(f"{prefix}token:new") == before


def test_first_store_use_migrates_unless_auto_migrate_is_off(
        redis_url: str, fresh: RedisBackend, shared_client: redis.Redis, prefix: str) -> None:
    fresh.store("cache")
    assert shared_client.get(f"{prefix}meta:version") is None
    auto = Registry(env={}).connect(redis_url)
    auto.store("cache")
    assert shared_client.get(f"{prefix}meta:version") == str(LATEST).encode()
    auto.close()


def test_an_applied_migration_whose_source_changed_stops_migrate(
        fresh: RedisBackend, shared_client: redis.Redis, prefix: str) -> None:
    run(fresh, MigrationAction.MIGRATE, target=1)
    entry = json.loads(shared_client.hget(f"{prefix}meta:migrations", "1"))
    shared_client.hset(f"{prefix}meta:migrations", "1",
                       json.dumps(entry | {"checksum": "0" * 64}))
    assert run(fresh, MigrationAction.STATUS).databases[0].changed
    with pytest.raises(ChecksumMismatchError, match="001_rename_blacklist_keys changed"):
        run(fresh, MigrationAction.DRY_RUN)
    with pytest.raises(ChecksumMismatchError):
        run(fresh, MigrationAction.MIGRATE)
    assert shared_client.get(f"{prefix}meta:version") == b"1"


def test_two_migrators_at_once_apply_each_migration_once(
        redis_url: str, fresh: RedisBackend) -> None:
    backends = [Registry(env={}).connect(redis_url) for _ in range(2)]
    reports: list[MigrationReport] = []
    threads = [threading.Thread(target=lambda b=b: reports.append(run(b, MigrationAction.MIGRATE)))
               for b in backends]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    ran = [name for report in reports for name in report.databases[0].ran]
    assert sorted(ran) == ["001_rename_blacklist_keys", "002_token_values_as_json"]
    for backend in backends:
        backend.close()


def test_downgrade_is_refused_with_a_hint(fresh: RedisBackend) -> None:
    with pytest.raises(MigrationError, match="forward-only") as caught:
        run(fresh, MigrationAction.DOWNGRADE, target=0)
    assert "migrations.py" in caught.value.hint


def test_a_request_for_another_database_is_an_empty_report(fresh: RedisBackend) -> None:
    assert run(fresh, MigrationAction.STATUS, db="users").databases == []


def test_migrate_command_beside_sqlite_migrates_the_redis_keyspace_too(
        redis_url: str, tmp_path: Path, shared_client: redis.Redis, prefix: str,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """What doctor's pending-migration hint says to run must bring the keyspace up to date."""
    monkeypatch.setenv("ARAGORA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("REDIS_URL", redis_url)
    assert main(["migrate"]) == 0
    assert "keyspace" in capsys.readouterr().out
    assert main(["migrate", "--migrate"]) == 0
    assert shared_client.get(f"{prefix}meta:version") == str(LATEST).encode()
    assert (tmp_path / "data" / "users.db").exists()
    assert main(["migrate", "--migrate", "--db", "users"]) == 0
    assert "keyspace" not in capsys.readouterr().out.splitlines()[-1]
