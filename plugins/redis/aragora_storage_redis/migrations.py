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

from aragora_storage_redis.keys import Keyspace, scan_batches


@dataclass(frozen=True)
class MigrationContext:
    """What a data migration works with: the client and the keyspace it migrates."""

    client: Any
    keys: Keyspace

    def batches(self, kind: str) -> Any:
        """Batches of keys under the prefix whose name continues with ``kind``."""
        return scan_batches(self.client, self.keys.pattern(kind))


def rename_blacklist_keys(ctx: MigrationContext) -> int:
    """Move revoked tokens from ``<prefix>blacklist:<jti>`` to ``<prefix>token:<jti>``.

    ``RENAME`` keeps each key's expiry; a key already renamed no longer matches.
    """
    old_prefix = len((ctx.keys.prefix + "blacklist:").encode())  # key names are bytes
    new_prefix = ctx.keys.token("").encode()
    moved = 0
    for batch in ctx.batches("blacklist:"):
        pipe = ctx.client.pipeline(transaction=False)
        for key in batch:
            pipe.rename(key, new_prefix + key[old_prefix:])
        moved += sum(1 for result in pipe.execute(raise_on_error=False) if result is True)
    return moved


def token_values_as_json(ctx: MigrationContext) -> int:
    """Re-encode token values from the bare user id to ``{"user_id", "revoked_at"}`` JSON.

    ``KEEPTTL`` keeps each token's expiry and ``XX`` skips tokens that expired meanwhile;
    values already in JSON are left alone. ``revoked_at`` of old entries is unknown (null).
    """
    import json

    changed = 0
    for batch in ctx.batches("token:"):
        values = ctx.client.mget(batch)
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
