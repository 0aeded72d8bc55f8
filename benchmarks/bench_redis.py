"""Redis stores through the registry vs hand-written redis-py doing the same work.

Both sides send the same commands with the same encoding (token values as JSON, stream
fields, decoding events back into dataclasses) and pipeline the same bulk operations: on
one server through the backend's one connection pool; with ``--cluster`` on a throwaway
3-primary, 3-replica Redis Cluster started here, the raw side being a ``RedisCluster``
made by hand on the same nodes; with ``--sentinel`` through ``redis+sentinel://`` (a
primary, a replica and three sentinels started here) against a plain ``Redis`` on the
primary itself, which shows what following Sentinel costs. Within each pair of batches
the two sides alternate call by call (which one goes first alternates too), so load from
other processes hits both alike; the ratio is the median over the pairs of store time /
raw time. Keys live under a prefix of their own, deleted with SCAN + UNLINK at the end.

    .venv/bin/python benchmarks/bench_redis.py [--url redis://127.0.0.1:6379/0]
        [--cluster | --sentinel [--check-interval 1]] [--pairs 30] [--batch 200]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
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

    def __init__(self, backend: RedisBackend, prefix: str, client: Any) -> None:
        self.client = client
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


@contextlib.contextmanager
def cluster_url() -> Iterator[str]:
    """A throwaway Redis Cluster (the test suite's harness) for the run; its URL."""
    sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "redis"))
    from redis_cluster import ThrowawayCluster

    with tempfile.TemporaryDirectory() as workdir:
        cluster = ThrowawayCluster(Path(workdir))
        try:
            cluster.start()
            yield f"redis+cluster://127.0.0.1:{cluster.live_ports()[0]}"
        finally:
            cluster.stop()


@contextlib.contextmanager
def sentinel_url(check_interval: str) -> Iterator[str]:
    """A throwaway primary, replica and three sentinels for the run; the URL."""
    sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "redis"))
    from redis_cluster import ThrowawaySentinels

    with tempfile.TemporaryDirectory() as workdir:
        setup = ThrowawaySentinels(Path(workdir), "bench-pw", "bench-sentinel-pw")
        try:
            setup.start()
            yield setup.url(f"sentinel_check_interval={check_interval}") + "&"
        finally:
            setup.stop()


def raw_client(backend: RedisBackend) -> Any:
    """The hand-written client: a ``RedisCluster`` of its own on a cluster, a ``Redis``
    on the primary itself with Sentinel, else a ``Redis`` on the backend's pool."""
    if backend.topology.mode == "cluster":
        from redis.cluster import RedisCluster

        host, port = backend.url.addresses[0]
        return RedisCluster(host=host, port=port)
    if backend.topology.mode == "sentinel":
        host, port = backend.client.connection_pool.get_master_address()
        return redis.Redis(host=host, port=port, password=backend.url.password)
    return redis.Redis(connection_pool=backend.topology.pool)


def main() -> int:
    """Run every comparison and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--cluster", action="store_true",
                        help="start a throwaway Redis Cluster and compare with RedisCluster")
    parser.add_argument("--sentinel", action="store_true",
                        help="start a primary, a replica and three sentinels; compare "
                        "redis+sentinel:// with redis-py on the primary itself")
    parser.add_argument("--check-interval", default="1",
                        help="sentinel_check_interval of the --sentinel URL")
    parser.add_argument("--pairs", type=int, default=30)
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()
    if args.cluster:
        with cluster_url() as url:
            return run(url, args.pairs, args.batch)
    if args.sentinel:
        with sentinel_url(args.check_interval) as url:
            return run(url, args.pairs, args.batch)
    return run(args.url, args.pairs, args.batch)


def run(url: str, pairs: int, n: int) -> int:
    """Compare every operation on the server or cluster at ``url``."""
    prefix = f"bench-{uuid.uuid4().hex[:8]}:"
    backend = Registry(env={}).connect(f"{url}{'' if '?' in url else '?'}prefix={prefix}")
    assert isinstance(backend, RedisBackend)
    raw = RawRedis(backend, prefix, raw_client(backend))
    blacklist = backend.store("token_blacklist")
    events = backend.store("stream_events")
    cache = backend.store("cache")
    later = datetime.now(UTC) + timedelta(hours=1)
    event = StreamEvent("loop", 1, "phase_start", {"phase": "debate", "n": 1}, agent="claude")
    events.append_many([event] * 100)
    raw.append_many([StreamEvent("raw-loop", 1, "phase_start", {"n": 1}, agent="claude")] * 100)
    bulk = [(f"bulk-{i}", later) for i in range(BULK)]
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
    raw.client.close()
    raw_name = {"cluster": "RedisCluster", "sentinel": "redis-py on the primary"}
    return print_table(rows, raw_name.get(backend.topology.mode, "redis-py"), pairs, TARGET)


if __name__ == "__main__":
    raise SystemExit(main())
