"""Backup and restore of every key under a backend's prefix with DUMP/RESTORE.

On a Redis Cluster, SCAN runs on every primary and each key's commands go to its slot's
primary, so a backup of a single server restores into a cluster and back.

The backup is one file of JSON lines, one key each: its name relative to the prefix, its
``DUMP`` payload and its absolute expiry (server time plus ``PTTL``), all base64. Restore
replaces the keys under the prefix with the file's, so the result has exactly the backed
up keys; a key whose expiry passed since the backup is not restored. ``DUMP`` payloads
restore on the same or a newer Redis version. Neither side is a point-in-time snapshot:
keys written while SCAN runs may or may not be included, and a restore that fails half way
leaves part of the keys restored (run it again).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aragora_storage_core.backup.manifest import write_manifest
from aragora_storage_core.backup.types import (
    BackupFile,
    BackupManifest,
    BackupRequest,
    RestoreRequest,
)
from aragora_storage_core.errors import StorageError
from aragora_storage_core.files import ensure_private_dir
from aragora_storage_core.models import utcnow_iso
from aragora_storage_redis.faults import DRIVER_ERRORS, translate
from aragora_storage_redis.keys import scan_every_primary

if TYPE_CHECKING:
    from aragora_storage_redis.backend import RedisBackend

KEYS_FILE = "redis-keys.jsonl"
RESTORE_BATCH = 500


def _server_ms(client: Any) -> int:
    seconds, micros = client.time()
    return int(seconds) * 1000 + int(micros) // 1000


def _file_entry(path: Path) -> BackupFile:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return BackupFile(path.name, path.stat().st_size, digest.hexdigest())


def backup(backend: RedisBackend, request: BackupRequest) -> BackupManifest:
    """Write every key under the prefix into ``request.directory``; return the manifest."""
    client, keys = backend.client, backend.keys
    path = request.directory / KEYS_FILE
    seen: set[bytes] = set()
    try:
        now_ms = _server_ms(client)
        version = client.get(keys.version)
        server = backend.server_info("server")["redis_version"]
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w",
                  encoding="ascii") as out:
            for batch in scan_every_primary(backend.topology.scan_targets(), keys.pattern()):
                fresh = [key for key in batch if key not in seen]
                seen.update(fresh)
                pipe = client.pipeline(transaction=False)
                for key in fresh:
                    pipe.pttl(key)
                    pipe.dump(key)
                replies = pipe.execute()
                for key, ttl, payload in zip(fresh, replies[::2], replies[1::2], strict=True):
                    if payload is None:
                        continue  # expired or deleted since SCAN saw it
                    out.write(json.dumps({
                        "key": base64.b64encode(keys.relative(key)).decode(),
                        "expires_at_ms": now_ms + ttl if ttl >= 0 else None,
                        "dump": base64.b64encode(payload).decode(),
                    }) + "\n")
    except DRIVER_ERRORS as error:
        raise translate(error, backend, "backup") from error
    return BackupManifest(
        backend=backend.name,
        created_at=utcnow_iso(),
        files=[_file_entry(path)],
        schema_versions={"keyspace": int(version or 0)},
        extra={"prefix": keys.prefix, "keys": len(seen), "redis_version": server,
               "format": "jsonl: key, expires_at_ms, dump (base64)"},
    )


def _entries(path: Path) -> Iterator[tuple[bytes, int | None, bytes]]:
    """``(relative key, absolute expiry in ms or None, DUMP payload)`` of each line."""
    with path.open(encoding="ascii") as lines:
        for line in lines:
            entry = json.loads(line)
            expires = entry["expires_at_ms"]
            if expires is not None and not isinstance(expires, int):
                raise ValueError("expires_at_ms")
            yield (base64.b64decode(entry["key"], validate=True), expires,
                   base64.b64decode(entry["dump"], validate=True))


def _keep_current_keys(backend: RedisBackend, keep: Path) -> None:
    """Back the keys a restore is about to replace up into ``keep`` (none: nothing kept)."""
    ensure_private_dir(keep)
    kept = backup(backend, BackupRequest(keep))
    if kept.extra["keys"]:
        write_manifest(keep, kept)
    else:
        shutil.rmtree(keep)


def restore(backend: RedisBackend, request: RestoreRequest) -> BackupManifest:
    """Replace the keys under the prefix with those in the backup in ``request.directory``.

    The whole file is read once before anything changes, so a damaged file leaves the
    keyspace as it was.
    """
    client, keys = backend.client, backend.keys
    path = request.directory / KEYS_FILE
    if not path.is_file():
        raise StorageError(f"{request.directory} holds no Redis backup ({KEYS_FILE} missing)",
                           "pass the directory of a backup made from a redis backend")
    try:
        for _ in _entries(path):
            pass
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as error:
        raise StorageError(f"{path.name} in {request.directory} is not a valid Redis backup "
                           f"({type(error).__name__}); nothing was changed",
                           "restore from another backup; this file is damaged") from error
    if request.keep is not None:
        _keep_current_keys(backend, request.keep)
    restored = 0
    try:
        for batch in scan_every_primary(backend.topology.scan_targets(), keys.pattern()):
            client.unlink(*batch)
        now_ms = _server_ms(client)
        pipe = client.pipeline(transaction=False)
        for relative, expires, payload in _entries(path):
            if expires is not None and expires <= now_ms:
                continue
            pipe.restore(keys.prefix.encode() + relative, expires or 0, payload,
                         replace=True, absttl=expires is not None)
            restored += 1
            if len(pipe) >= RESTORE_BATCH:
                pipe.execute()
        pipe.execute()
        version = client.get(keys.version)
    except DRIVER_ERRORS as error:
        raise translate(error, backend, "restore", idempotent=False) from error
    return BackupManifest(
        backend=backend.name,
        created_at=utcnow_iso(),
        files=[_file_entry(path)],
        schema_versions={"keyspace": int(version or 0)},
        extra={"prefix": keys.prefix, "keys": restored},
    )
