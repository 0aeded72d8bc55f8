"""Redis stores through the registry vs hand-written redis-py doing the same work.

Both sides use the backend's one connection pool, send the same commands with the same
encoding (token values as JSON, stream fields, decoding events back into dataclasses) and
pipeline the same bulk operations. Within each pair of batches the two sides alternate
call by call (which one goes first alternates too), so load from other processes hits
both alike; the ratio is the median over the pairs of store time / raw time. Keys live
under a prefix of their own on the shared server, deleted with SCAN + UNLINK at the end.

    .venv/bin/python benchmarks/bench_redis.py [--url redis://127.0.0.1:6379/0]
        [--pairs 30] [--batch 200]
"""

from __future__ import annotations

import argparse
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from aragora_storage_redis.backend import RedisBackend
from timing import compare, print_table

from aragora_storage_core.models import StreamEvent, to_iso, utcnow_iso
from aragora_storage_core.registry import Registry

TARGET = 1.10
BULK = 1000


class RawRedis:
    """What a careful programmer writes by hand with redis-py for the same operations."""

    def __init__(self, backend: RedisBackend, prefix: str) -> None:
        self.client: Any = redis.Redis(connection_pool=backend.topology.pool)
        self.prefix = prefix
        self.maxlen = backend.options.stream_maxlen

    def revoke(self, jti: str, expires: datetime) -> None:
        value = json.dumps({"user_id": None, "revoked_at": utcnow_iso()})
        self.client.set(f"{self.prefix}token:{jti}", value,
                        pxat=int(expires.timestamp() * 1000), nx=True)

    def is_revoked(self, jti: str) -> bool:
        return bool(self.client.exists(f"{self.prefix}token:{jti}"))

    def revoke_many(self, tokens: list[tuple[str, datetime]]) -> int:
        value = json.dumps({"user_id": None, "revoked_at": utcnow_iso()})
        pipe = self.client.pipeline(transaction=False)
        for jti, expires in tokens:
            pipe.set(f"{self.prefix}token:{jti}", value,
                     pxat=int(expires.timestamp() * 1000), nx=True)
        pipe.execute()
        return len(tokens)

    def cache_set(self, key: str, value: bytes) -> None:
        self.client.set(f"{self.prefix}cache:{key}", value, px=60_000)

    def cache_get(self, key: str) -> bytes | None:
        value: bytes | None = self.client.get(f"{self.prefix}cache:{key}")
        return value

    def _fields(self, event: StreamEvent) -> dict[str, Any]:
        return {"cycle": event.cycle, "event_type": event.event_type,
                "event_data": json.dumps(event.event_data),
                "timestamp": to_iso(event.timestamp), "agent": event.agent or ""}

    def append(self, event: StreamEvent) -> str:
        entry: bytes = self.client.xadd(f"{self.prefix}stream:{event.loop_id}",
                                        self._fields(event), maxlen=self.maxlen,
                                        approximate=True)
        return entry.decode()

    def append_many(self, events: list[StreamEvent]) -> list[str]:
        pipe = self.client.pipeline(transaction=True)
        for event in events:
            pipe.xadd(f"{self.prefix}stream:{event.loop_id}", self._fields(event),
                      maxlen=self.maxlen, approximate=True)
        return [entry.decode() for entry in pipe.execute()]

    def read(self, loop_id: str) -> list[StreamEvent]:
        entries = self.client.xrange(f"{self.prefix}stream:{loop_id}", "-", "+", count=100)
        return [StreamEvent(loop_id, int(f[b"cycle"]), f[b"event_type"].decode(),
                            json.loads(f[b"event_data"]), f[b"agent"].decode() or None,
                            datetime.fromisoformat(f[b"timestamp"].decode()),
                            entry.decode())
                for entry, f in entries]


def main() -> int:
    """Run every comparison and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--pairs", type=int, default=30)
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()
    prefix = f"bench-{uuid.uuid4().hex[:8]}:"
    backend = Registry(env={}).connect(f"{args.url}?prefix={prefix}")
    assert isinstance(backend, RedisBackend)
    raw = RawRedis(backend, prefix)
    blacklist = backend.store("token_blacklist")
    events = backend.store("stream_events")
    cache = backend.store("cache")
    later = datetime.now(UTC) + timedelta(hours=1)
    event = StreamEvent("loop", 1, "phase_start", {"phase": "debate", "n": 1}, agent="claude")
    events.append_many([event] * 100)
    raw.append_many([StreamEvent("raw-loop", 1, "phase_start", {"n": 1}, agent="claude")] * 100)
    bulk = [(f"bulk-{i}", later) for i in range(BULK)]
    pairs, n = args.pairs, args.batch
    rows = [
        compare("TokenBlacklist.revoke", lambda i: blacklist.revoke(f"a{i}", later),
                lambda i: raw.revoke(f"b{i}", later), pairs, n),
        compare("TokenBlacklist.is_revoked", lambda i: blacklist.is_revoked(f"a{i}"),
                lambda i: raw.is_revoked(f"b{i}"), pairs, n),
        compare("Cache.set (TTL)", lambda i: cache.set(f"k{i}", b"v" * 64, ttl_seconds=60),
                lambda i: raw.cache_set(f"r{i}", b"v" * 64), pairs, n),
        compare("Cache.get", lambda i: cache.get(f"k{i}"), lambda i: raw.cache_get(f"r{i}"),
                pairs, n),
        compare("StreamEvents.append", lambda i: events.append(event),
                lambda i: raw.append(event), pairs, n),
        compare("StreamEvents.read (100 events)", lambda i: events.read("loop"),
                lambda i: raw.read("raw-loop"), pairs, n // 10),
        compare(f"TokenBlacklist.revoke_many ({BULK}, pipelined)",
                lambda i: blacklist.revoke_many(bulk), lambda i: raw.revoke_many(bulk),
                pairs, 2),
        compare("StreamEvents.append_many (100, MULTI/EXEC)",
                lambda i: events.append_many([event] * 100),
                lambda i: raw.append_many([event] * 100), pairs, 4),
    ]
    for key in raw.client.scan_iter(match=f"{prefix}*", count=1000):
        raw.client.unlink(key)
    backend.close()
    return print_table(rows, "redis-py", pairs, TARGET)


if __name__ == "__main__":
    raise SystemExit(main())
