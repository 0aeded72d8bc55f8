"""Helpers the Redis tests share: cleaning up a prefix."""

from __future__ import annotations

import redis


def unlink_prefix(client: redis.Redis, prefix: str) -> None:
    """Delete the keys under ``prefix`` with SCAN + UNLINK (never FLUSHDB: others share it)."""
    pattern = prefix.replace("*", r"\*").replace("?", r"\?").replace("[", r"\[") + "*"
    for key in client.scan_iter(match=pattern, count=1000):
        client.unlink(key)
