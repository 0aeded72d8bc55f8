"""Backup and restore of a prefix through ``storage_backup``/``storage_restore``."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from aragora_storage_redis.backend import RedisBackend
from redis_support import contents

from aragora_storage_core.backup.types import BackupManifest, BackupRequest, RestoreRequest
from aragora_storage_core.errors import StorageError
from aragora_storage_core.models import StreamEvent
from aragora_storage_core.registry import Registry

TTL_TOLERANCE_MS = 5_000


def hooks(backend: RedisBackend) -> Registry:
    registry = Registry(backend.settings)
    registry.host.load_backend("redis")
    return registry


def snapshot(client: redis.Redis, prefix: str) -> dict[bytes, tuple[tuple[bytes, Any], int]]:
    """Every key under ``prefix``: its type and contents, and its remaining TTL."""
    return {key: (contents(client, key), client.pttl(key))
            for key in client.scan_iter(match=f"{prefix}*")}


@pytest.fixture
def backup_dir(tmp_path: Path) -> Path:
    """An empty directory, as the backup command hands it to the hook."""
    directory = tmp_path / "backup"
    directory.mkdir()
    return directory


@pytest.fixture
def populated(backend: RedisBackend) -> RedisBackend:
    later = datetime.now(UTC) + timedelta(hours=1)
    backend.store("token_blacklist").revoke_many([(f"jti-{i}", later) for i in range(50)])
    events = backend.store("stream_events")
    events.append_many([StreamEvent("loop", i % 3, "tick", {"i": i}) for i in range(200)])
    cache = backend.store("cache")
    cache.set("forever", b"\x00\x01")
    cache.set("brief", b"x" * 1000, ttl_seconds=3600)
    return backend


def test_snapshots_compare_contents_not_encodings(shared_client: redis.Redis,
                                                   prefix: str) -> None:
    """Two hashes with the same fields inserted in another order: DUMP differs, contents not."""
    first, second = f"{prefix}h1", f"{prefix}h2"
    shared_client.hset(first, mapping={"a": "1", "b": "2"})
    shared_client.hset(second, mapping={"b": "2", "a": "1"})
    assert shared_client.dump(first) != shared_client.dump(second)
    assert contents(shared_client, first) == contents(shared_client, second)


def test_restore_gives_identical_keys_values_ttls_and_streams(
        populated: RedisBackend, shared_client: redis.Redis, prefix: str,
        backup_dir: Path) -> None:
    registry = hooks(populated)
    before = snapshot(shared_client, prefix)
    events_before = populated.store("stream_events").read("loop", limit=1000)
    manifest = registry.hook.storage_backup(backend=populated,
                                            request=BackupRequest(backup_dir))
    assert isinstance(manifest, BackupManifest) and manifest.backend == "redis"
    assert manifest.extra["keys"] == len(before)
    populated.store("cache").delete("forever")
    populated.store("cache").set("stray", b"not in the backup")
    populated.store("stream_events").append(StreamEvent("loop", 9, "late", {}))

    registry.hook.storage_restore(backend=populated, request=RestoreRequest(backup_dir))

    after = snapshot(shared_client, prefix)
    assert after.keys() == before.keys()
    for key, (payload, ttl) in before.items():
        assert after[key][0] == payload, key
        if ttl < 0:
            assert after[key][1] == ttl, key
        else:
            assert ttl - TTL_TOLERANCE_MS <= after[key][1] <= ttl, key
    assert populated.store("stream_events").read("loop", limit=1000) == events_before


def test_manifest_lists_each_file_with_its_size_and_sha256(
        populated: RedisBackend, backup_dir: Path) -> None:
    manifest = hooks(populated).hook.storage_backup(backend=populated,
                                                    request=BackupRequest(backup_dir))
    assert [f.name for f in manifest.files] == sorted(p.name for p in backup_dir.iterdir())
    for entry in manifest.files:
        data = (backup_dir / entry.name).read_bytes()
        assert entry.size == len(data)
        assert entry.sha256 == hashlib.sha256(data).hexdigest()
        assert (backup_dir / entry.name).stat().st_mode & 0o077 == 0
    assert manifest.schema_versions == {"keyspace": 2}
    assert not (backup_dir / "manifest.json").exists()


def test_backup_and_restore_touch_only_the_prefix(
        populated: RedisBackend, shared_client: redis.Redis, prefix: str,
        backup_dir: Path) -> None:
    neighbour = f"{prefix.rstrip(':')}-neighbour:key"
    shared_client.set(neighbour, b"theirs")
    try:
        registry = hooks(populated)
        manifest = registry.hook.storage_backup(backend=populated,
                                                request=BackupRequest(backup_dir))
        registry.hook.storage_restore(backend=populated, request=RestoreRequest(backup_dir))
        assert shared_client.get(neighbour) == b"theirs"
        assert manifest.extra["keys"] == len(snapshot(shared_client, prefix))
    finally:
        shared_client.unlink(neighbour)


def test_restore_into_another_prefix_copies_the_data(
        populated: RedisBackend, redis_url: str, shared_client: redis.Redis,
        backup_dir: Path) -> None:
    hooks(populated).hook.storage_backup(backend=populated, request=BackupRequest(backup_dir))
    copy = Registry(env={"ARAGORA_AUTO_MIGRATE": "0"}).connect(
        redis_url.replace("?prefix=", "?prefix=copy-"))
    try:
        hooks(copy).hook.storage_restore(backend=copy, request=RestoreRequest(backup_dir))
        assert copy.store("cache").get("forever") == b"\x00\x01"
        assert copy.store("token_blacklist").is_revoked("jti-7") is True
        assert len(copy.store("stream_events").read("loop", limit=1000)) == 200
    finally:
        copy.close()
        for key in shared_client.scan_iter(match="copy-test-*"):
            shared_client.unlink(key)


def test_damaged_backup_is_refused_and_leaves_the_data_untouched(
        populated: RedisBackend, shared_client: redis.Redis, prefix: str,
        backup_dir: Path) -> None:
    registry = hooks(populated)
    manifest = registry.hook.storage_backup(backend=populated, request=BackupRequest(backup_dir))
    path = backup_dir / manifest.files[0].name
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines[:-1], '{"key": "@@not base64@@"'])+ "\n")
    populated.store("cache").set("added-after-backup", b"keep me")
    before = snapshot(shared_client, prefix)
    with pytest.raises(StorageError, match=r"not a valid Redis backup.*nothing was changed"):
        registry.hook.storage_restore(backend=populated, request=RestoreRequest(backup_dir))
    assert snapshot(shared_client, prefix).keys() == before.keys()


def test_restore_from_a_directory_without_a_redis_backup_says_so(
        backend: RedisBackend, backup_dir: Path) -> None:
    with pytest.raises(StorageError, match="holds no Redis backup"):
        hooks(backend).hook.storage_restore(backend=backend, request=RestoreRequest(backup_dir))


def test_glob_characters_in_the_prefix_match_only_that_prefix(
        prefix: str, shared_client: redis.Redis, backup_dir: Path) -> None:
    odd = prefix.rstrip(":") + "[ab]*:"
    lookalike = prefix.rstrip(":") + "a-lookalike:cache:k"
    backend = Registry(env={}).connect(f"redis://127.0.0.1:6379/0?prefix={odd}")
    shared_client.set(lookalike, b"not mine")
    try:
        backend.store("cache").set("k", b"mine")
        registry = hooks(backend)
        manifest = registry.hook.storage_backup(backend=backend,
                                                request=BackupRequest(backup_dir))
        assert manifest.extra["keys"] == 3  # cache:k, meta:version, meta:migrations
        registry.hook.storage_restore(backend=backend, request=RestoreRequest(backup_dir))
        assert shared_client.get(lookalike) == b"not mine"
        assert backend.store("cache").get("k") == b"mine"
    finally:
        backend.close()
        shared_client.unlink(lookalike, f"{odd}cache:k", f"{odd}meta:version",
                             f"{odd}meta:migrations")


def test_a_token_that_expired_since_the_backup_is_not_revoked_again_by_a_restore(
        backend: RedisBackend, shared_client: redis.Redis, prefix: str,
        backup_dir: Path) -> None:
    blacklist = backend.store("token_blacklist")
    blacklist.revoke("short", datetime.now(UTC) + timedelta(milliseconds=300))
    blacklist.revoke("long", datetime.now(UTC) + timedelta(hours=1))
    registry = hooks(backend)
    registry.hook.storage_backup(backend=backend, request=BackupRequest(backup_dir))
    while shared_client.exists(f"{prefix}token:short"):
        time.sleep(0.05)  # wait for Redis to expire it (not a timing assertion)
    registry.hook.storage_restore(backend=backend, request=RestoreRequest(backup_dir))
    assert blacklist.is_revoked("short") is False
    assert shared_client.exists(f"{prefix}token:short") == 0
    assert blacklist.is_revoked("long") is True
