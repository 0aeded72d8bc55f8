"""Where each piece of data lives: every key starts with the backend's prefix.

Each token, stream and cache entry is one key, so a store call touches one key and a
Redis Cluster spreads them over its slots by the whole name. A prefix with a hash tag
(``{aragora}:``) puts every key in one slot instead: multi-key transactions then span
loops, and one primary carries all the load.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

_GLOB_SPECIAL = re.compile(r"([\\*?\[\]])")
SCAN_BATCH = 1000


@dataclass(frozen=True)
class Keyspace:
    """Key names under ``prefix`` (``aragora:`` unless the URL says ``?prefix=``)."""

    prefix: str

    def token(self, jti: str) -> str:
        """The key of one revoked token id."""
        return f"{self.prefix}token:{jti}"

    def stream(self, loop_id: str) -> str:
        """The Redis stream of one nomic loop."""
        return f"{self.prefix}stream:{loop_id}"

    def cache(self, key: str) -> str:
        """The key of one cache entry."""
        return f"{self.prefix}cache:{key}"

    @property
    def version(self) -> str:
        """The keyspace version: the highest data migration applied."""
        return f"{self.prefix}meta:version"

    @property
    def migrations(self) -> str:
        """Hash of applied data migrations: version -> name, checksum, time, duration."""
        return f"{self.prefix}meta:migrations"

    @property
    def marker(self) -> str:
        """A random token the primary also remembers (``aragora_storage_core.beside``)."""
        return f"{self.prefix}meta:marker"

    @property
    def migration_lock(self) -> str:
        """Held by the one process migrating this keyspace."""
        return f"{self.prefix}meta:migration-lock"

    def pattern(self, kind: str = "") -> str:
        """A SCAN ``MATCH`` pattern for keys under the prefix, optionally of one kind."""
        return _GLOB_SPECIAL.sub(r"\\\1", self.prefix + kind) + "*"

    def relative(self, key: bytes) -> bytes:
        """``key`` without the prefix (keys found by :meth:`pattern` all start with it)."""
        return key[len(self.prefix.encode()):]


def scan_batches(client: Any, pattern: str, count: int = SCAN_BATCH) -> Iterator[list[bytes]]:
    """Keys matching ``pattern`` in batches, with SCAN (never KEYS); each key at least once."""
    cursor = 0
    while True:
        cursor, keys = client.scan(cursor, match=pattern, count=count)
        if keys:
            yield list(dict.fromkeys(keys))
        if cursor == 0:
            return


def scan_every_primary(targets: Iterable[Any], pattern: str,
                       count: int = SCAN_BATCH) -> Iterator[list[bytes]]:
    """:func:`scan_batches` on each primary in turn (a cluster's keys are spread over them)."""
    for client in targets:
        yield from scan_batches(client, pattern, count)
