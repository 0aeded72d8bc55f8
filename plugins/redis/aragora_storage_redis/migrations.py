"""The ordered data migrations of a Redis keyspace.

Each is a function of a :class:`MigrationContext`, numbered by its place in
:data:`MIGRATIONS`. Redis has no transaction over a SCAN, so each must be safe to run
again after an interruption: it recognises data already in the new form and skips it.
To add one, append a function here; ``aragora-storage migrate`` applies it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis.crc import key_slot

from aragora_storage_redis.keys import Keyspace, scan_every_primary


@dataclass(frozen=True)
class MigrationContext:
    """What a data migration works with: the client, the keyspace it migrates and the
    clients to SCAN (every primary of a cluster)."""

    client: Any
    keys: Keyspace
    scan_targets: list[Any]
    cluster: bool = False

    def batches(self, kind: str) -> Any:
        """Batches of keys under the prefix whose name continues with ``kind``."""
        return scan_every_primary(self.scan_targets, self.keys.pattern(kind))

    def rename(self, pairs: list[tuple[bytes, bytes]]) -> int:
        """Rename each ``(old, new)`` key keeping its expiry; return how many moved.

        ``RENAME`` needs both names in one hash slot; on a cluster where they are not, the
        key is copied (``DUMP``/``PTTL``, then ``RESTORE`` unless the new name exists)
        and the old one deleted, which is safe to run again after an interruption.
        """
        apart: list[tuple[bytes, bytes]] = []
        pipe = self.client.pipeline(transaction=False)
        for old, new in pairs:
            if self.cluster and key_slot(old) != key_slot(new):
                apart.append((old, new))
            else:
                pipe.rename(old, new)
        moved = sum(1 for result in pipe.execute(raise_on_error=False) if result is True)
        return moved + self._copy_across_slots(apart)

    def _copy_across_slots(self, pairs: list[tuple[bytes, bytes]]) -> int:
        if not pairs:
            return 0
        pipe = self.client.pipeline(transaction=False)
        for old, _ in pairs:
            pipe.pttl(old)
            pipe.dump(old)
        replies = pipe.execute()
        pipe = self.client.pipeline(transaction=False)
        moved = 0
        for (_, new), ttl, payload in zip(pairs, replies[::2], replies[1::2], strict=True):
            if payload is None:
                continue  # gone since SCAN saw it
            pipe.restore(new, max(ttl, 0), payload)
            moved += 1
        for result in pipe.execute(raise_on_error=False):
            if isinstance(result, Exception) and "BUSYKEY" not in str(result):
                raise result  # BUSYKEY: copied by an earlier, interrupted run
        pipe = self.client.pipeline(transaction=False)
        for old, _ in pairs:
            pipe.unlink(old)
        pipe.execute()
        return moved


def rename_blacklist_keys(ctx: MigrationContext) -> int:
    """Move revoked tokens from ``<prefix>blacklist:<jti>`` to ``<prefix>token:<jti>``.

    The expiry is kept; a key already renamed no longer matches.
    """
    old_prefix = len((ctx.keys.prefix + "blacklist:").encode())  # key names are bytes
    new_prefix = ctx.keys.token("").encode()
    moved = 0
    for batch in ctx.batches("blacklist:"):
        moved += ctx.rename([(key, new_prefix + key[old_prefix:]) for key in batch])
    return moved


def token_values_as_json(ctx: MigrationContext) -> int:
    """Re-encode token values from the bare user id to ``{"user_id", "revoked_at"}`` JSON.

    ``KEEPTTL`` keeps each token's expiry and ``XX`` skips tokens that expired meanwhile;
    values already in JSON are left alone. ``revoked_at`` of old entries is unknown (null).
    """
    import json

    changed = 0
    for batch in ctx.batches("token:"):
        reads = ctx.client.pipeline(transaction=False)  # not MGET: a cluster's keys
        for key in batch:                                # sit in many slots
            reads.get(key)
        values = reads.execute()
        pipe = ctx.client.pipeline(transaction=False)
        for key, value in zip(batch, values, strict=True):
            if value is None or value.startswith(b"{"):
                continue
            encoded = json.dumps({"user_id": value.decode() or None, "revoked_at": None})
            pipe.set(key, encoded, keepttl=True, xx=True)
            changed += 1
        pipe.execute()
    return changed


@dataclass(frozen=True)
class DataMigration:
    """One numbered data migration."""

    version: int
    name: str
    upgrade: Callable[[MigrationContext], int]


MIGRATIONS: tuple[DataMigration, ...] = tuple(
    DataMigration(number, function.__name__, function)
    for number, function in enumerate((rename_blacklist_keys, token_values_as_json), start=1)
)
