"""Helpers the Redis tests share: opening a backend, cleaning up a prefix, reading a key's
contents, a round trip on the async API."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from aragora_storage_redis.backend import RedisBackend

from aragora_storage_core.models import StreamEvent
from aragora_storage_core.registry import Registry


def connect_redis(url: str) -> RedisBackend:
    """A Redis backend opened through a registry of its own (the caller closes it)."""
    backend = Registry(env={}).connect(url)
    assert isinstance(backend, RedisBackend)
    return backend


def unlink_prefix(client: redis.Redis, prefix: str) -> None:
    """Delete the keys under ``prefix`` with SCAN + UNLINK (never FLUSHDB: others share it)."""
    pattern = prefix.replace("*", r"\*").replace("?", r"\?").replace("[", r"\[") + "*"
    for key in client.scan_iter(match=pattern, count=1000):
        client.unlink(key)


def contents(client: redis.Redis, key: bytes | str) -> tuple[bytes, Any]:
    """``(type, value)`` of ``key``, independent of how the server encodes it.

    ``DUMP`` bytes are no basis for comparison: a hash's field order in its payload
    depends on the server's hash seed and on the order fields were inserted.
    """
    kind: bytes = client.type(key)
    readers: dict[bytes, Any] = {
        b"string": lambda: client.get(key),
        b"hash": lambda: client.hgetall(key),
        b"list": lambda: client.lrange(key, 0, -1),
        b"set": lambda: client.smembers(key),
        b"zset": lambda: client.zrange(key, 0, -1, withscores=True),
        b"stream": lambda: client.xrange(key),
    }
    if kind not in readers:
        raise AssertionError(f"no reader for Redis type {kind!r} of {key!r}")
    return kind, readers[kind]()


def async_round_trip(backend: RedisBackend, tokens: int = 60) -> dict[str, Any]:
    """Every Redis store once on the async API, in a fresh event loop (its client closed
    after): what each call returned."""
    later = datetime.now(UTC) + timedelta(hours=1)

    async def scenario() -> dict[str, Any]:
        blacklist, cache = backend.astore("token_blacklist"), backend.astore("cache")
        events = backend.astore("stream_events")
        try:
            await blacklist.revoke_many([(f"jti-{i}", later) for i in range(tokens)])
            await cache.set("k", b"async")
            appended = await events.append(StreamEvent("loop", 1, "tick", {"n": 1}))
            return {
                "revoked": [await blacklist.is_revoked(f"jti-{i}") for i in range(tokens)],
                "cache": await cache.get("k"),
                "events": [event.id for event in await events.read("loop")],
                "appended": appended,
            }
        finally:
            await backend.aclose()

    return asyncio.run(scenario())
