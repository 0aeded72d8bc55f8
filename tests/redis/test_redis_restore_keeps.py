"""A Redis restore keeps the keys it replaces as a backup that undoes it (issue 10 item 2)."""

from __future__ import annotations

from pathlib import Path

import redis
from aragora_storage_redis.backend import RedisBackend
from redis_support import contents

from aragora_storage_core.backup.create import create_backup
from aragora_storage_core.backup.restore import restore_backup
from aragora_storage_core.backup.verify import verify_backup
from aragora_storage_core.registry import Registry


def hooks(backend: RedisBackend) -> Registry:
    registry = Registry(backend.settings)
    registry.host.load_backend("redis")
    return registry


def keyspace(client: redis.Redis, prefix: str) -> dict[bytes, tuple[bytes, object]]:
    return {key: contents(client, key) for key in client.scan_iter(match=f"{prefix}*")}


def test_restore_keeps_the_replaced_keys_and_restoring_them_undoes_it(
        backend: RedisBackend, shared_client: redis.Redis, prefix: str,
        tmp_path: Path) -> None:
    cache = backend.store("cache")
    cache.set("a", b"backed up")
    registry = hooks(backend)
    directory, _ = create_backup(registry.hook, backend, tmp_path / "backups")
    cache.set("a", b"changed after the backup")
    cache.set("b", b"only after the backup")
    after = keyspace(shared_client, prefix)

    result = restore_backup(registry.hook, backend, directory)

    assert cache.get("a") == b"backed up" and cache.get("b") is None
    assert result.kept is not None and result.kept.parent == tmp_path / "backups"
    assert verify_backup(result.kept).extra["keys"] == len(after)
    restore_backup(registry.hook, backend, result.kept)
    assert keyspace(shared_client, prefix) == after
