"""Async Redis stores (``backend.astore``) vs raw ``redis.asyncio`` doing the same work.

Part 1: each store call awaited one at a time against the same commands, with the same
encoding (token values as JSON, stream fields), sent by hand on the *same* client and
connection pool (the backend's ``redis.asyncio`` client of this loop). Within each pair
the store batch and the raw batch take turns going first; the ratio is the median over
the pairs of store time / raw time. Target: within 1.10x.

Part 2: throughput of 64 concurrent tasks on the async API vs 64 threads on the sync API
(one pool of 64 connections each) and vs 64 tasks of raw ``redis.asyncio`` on the async
pool, each worker doing the same calls; the three take turns; medians of 6 rounds.

    .venv/bin/python benchmarks/bench_async_redis.py [--url redis://127.0.0.1:6379/0]
        [--pairs 30] [--batch 200] [--workers 64]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from aragora_storage_redis.backend import RedisBackend
from bench_redis import RawRedis
from timing import print_table, threads_seconds

from aragora_storage_core.models import StreamEvent, utcnow_iso
from aragora_storage_core.registry import Registry

TARGET = 1.10
LATER = datetime.now(UTC) + timedelta(hours=1)
EVENT = StreamEvent("loop", 1, "phase_start", {"phase": "debate", "n": 1}, agent="claude")


class RawAsync(RawRedis):
    """The same commands and encoding as ``bench_redis.RawRedis``, awaited on an async
    client."""

    async def arevoke(self, jti: str, expires: datetime) -> None:
        value = json.dumps({"user_id": None, "revoked_at": utcnow_iso()})
        await self.client.set(f"{self.prefix}token:{jti}", value,
                              pxat=int(expires.timestamp() * 1000), nx=True)

    async def ais_revoked(self, jti: str) -> bool:
        return bool(await self.client.exists(f"{self.prefix}token:{jti}"))

    async def aappend(self, event: StreamEvent) -> str:
        entry: bytes = await self.client.xadd(f"{self.prefix}stream:{event.loop_id}",
                                              self._fields(event), maxlen=self.maxlen,
                                              approximate=True)
        return entry.decode()

    async def acache_set(self, key: str, value: bytes) -> None:
        await self.client.set(f"{self.prefix}cache:{key}", value, px=60_000)

    async def acache_get(self, key: str) -> bytes | None:
        value: bytes | None = await self.client.get(f"{self.prefix}cache:{key}")
        return value


Call = Callable[[int], Awaitable[object]]


async def batch_time(call: Call, batch: int) -> float:
    """Seconds for ``batch`` awaited calls, one after the other."""
    start = time.perf_counter()
    for i in range(batch):
        await call(i)
    return time.perf_counter() - start


async def side_by_side(name: str, ours: Call, raw: Call, pairs: int,
                       batch: int) -> dict[str, Any]:
    """Median ratio over ``pairs`` of (store batch time / raw batch time); the side that
    goes first alternates."""
    await ours(0)
    await raw(0)
    timed: list[tuple[float, float]] = []
    gc.disable()
    try:
        for pair in range(pairs):
            order = (raw, ours) if pair % 2 else (ours, raw)
            spent = {side: await batch_time(side, batch) / batch for side in order}
            timed.append((spent[ours], spent[raw]))
    finally:
        gc.enable()
    return {"operation": name, "store_ms": statistics.median(t[0] for t in timed) * 1000,
            "raw_ms": statistics.median(t[1] for t in timed) * 1000,
            "ratio": statistics.median(t[0] / t[1] for t in timed)}


async def calls_vs_raw(backend: RedisBackend, prefix: str, pairs: int,
                       batch: int) -> list[dict[str, Any]]:
    """Part 1: each store call against raw ``redis.asyncio`` on the same pool."""
    blacklist, cache = backend.astore("token_blacklist"), backend.astore("cache")
    events = backend.astore("stream_events")
    await cache.get("warm")  # makes this loop's client
    assert backend.async_clients is not None
    raw = RawAsync(backend, prefix, backend.async_clients.current())
    return [
        await side_by_side("TokenBlacklist.revoke", lambda i: blacklist.revoke(f"a{i}", LATER),
                           lambda i: raw.arevoke(f"b{i}", LATER), pairs, batch),
        await side_by_side("TokenBlacklist.is_revoked",
                           lambda i: blacklist.is_revoked(f"a{i}"),
                           lambda i: raw.ais_revoked(f"b{i}"), pairs, batch),
        await side_by_side("StreamEvents.append", lambda i: events.append(EVENT),
                           lambda i: raw.aappend(EVENT), pairs, batch),
        await side_by_side("Cache.set (TTL)",
                           lambda i: cache.set(f"k{i}", b"v" * 64, ttl_seconds=60),
                           lambda i: raw.acache_set(f"r{i}", b"v" * 64), pairs, batch),
        await side_by_side("Cache.get", lambda i: cache.get(f"k{i}"),
                           lambda i: raw.acache_get(f"r{i}"), pairs, batch),
    ]


def mixed(store: Callable[[str], Any], i: int) -> tuple[Any, ...]:
    """One unit of work of a worker: revoke, check, cache set and get (4 commands)."""
    blacklist, cache = store("token_blacklist"), store("cache")
    return (blacklist.revoke(f"w{i}", LATER), blacklist.is_revoked(f"w{i}"),
            cache.set(f"w{i}", b"v" * 64, ttl_seconds=60), cache.get(f"w{i}"))


def raw_mixed(raw: RawAsync, i: int) -> tuple[Any, ...]:
    """The same unit by hand on ``redis.asyncio``."""
    return (raw.arevoke(f"x{i}", LATER), raw.ais_revoked(f"x{i}"),
            raw.acache_set(f"x{i}", b"v" * 64), raw.acache_get(f"x{i}"))


async def tasks_run(unit: Callable[[int], tuple[Any, ...]], workers: int,
                    per_worker: int) -> float:
    """Seconds for ``workers`` tasks doing ``per_worker`` units each."""
    async def worker(w: int) -> None:
        for i in range(per_worker):
            for call in unit(w * per_worker + i):
                await call

    start = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(workers)))
    return time.perf_counter() - start


def threads_run(backend: RedisBackend, workers: int, per_worker: int) -> float:
    """Seconds for ``workers`` threads doing ``per_worker`` units each on the sync API."""
    return threads_seconds(workers, per_worker, lambda n: mixed(backend.store, n))


async def tasks_vs_threads(backend: RedisBackend, raw: RawAsync, workers: int, rounds: int,
                           per_worker: int) -> dict[str, float]:
    """Part 2: commands per second (and CPU µs per command) of async-store tasks, raw
    ``redis.asyncio`` tasks and sync-API threads, taking turns; medians."""
    commands = workers * per_worker * 4
    sides: dict[str, Callable[[], Awaitable[float]]] = {
        "tasks": lambda: tasks_run(lambda i: mixed(backend.astore, i), workers, per_worker),
        "raw tasks": lambda: tasks_run(lambda i: raw_mixed(raw, i), workers, per_worker),
        "threads": lambda: asyncio.to_thread(threads_run, backend, workers, per_worker),
    }
    rates: dict[str, list[float]] = {name: [] for name in sides}
    cpu: dict[str, list[float]] = {name: [] for name in sides}
    for turn in range(rounds + 1):
        names = list(sides)[turn % 3:] + list(sides)[:turn % 3]
        for name in names:
            before = time.process_time()
            seconds = await sides[name]()
            if turn:  # the first round warms the pools up
                rates[name].append(commands / seconds)
                cpu[name].append((time.process_time() - before) / commands * 1e6)
    return {**{name: statistics.median(values) for name, values in rates.items()},
            **{f"{name} cpu": statistics.median(values) for name, values in cpu.items()}}


async def run(url: str, pairs: int, batch: int, workers: int) -> int:
    """Both parts on the server at ``url``; prints Markdown tables."""
    prefix = f"bench-async-{uuid.uuid4().hex[:8]}:"
    separator = "&" if "?" in url else "?"
    backend = Registry(env={}).connect(
        f"{url}{separator}prefix={prefix}&max_connections={max(workers, 50)}")
    assert isinstance(backend, RedisBackend)
    try:
        load = os.getloadavg()[0]
        rows = await calls_vs_raw(backend, prefix, pairs, batch)
        print(f"load average {load:.2f} at start, {os.getloadavg()[0]:.2f} after part 1")
        over = print_table(rows, "raw redis.asyncio", pairs, TARGET)
        assert backend.async_clients is not None
        raw = RawAsync(backend, prefix, backend.async_clients.current())
        both = await tasks_vs_threads(backend, raw, workers, 6, 25)
        print(f"\n{workers} workers, 4 commands per unit; load average "
              f"{os.getloadavg()[0]:.2f}")
        print("| side | commands/s | CPU µs/command (whole process) |\n| --- | ---: | ---: |")
        for name, label in (("tasks", "async store API"), ("raw tasks", "raw redis.asyncio"),
                            ("threads", "sync store API")):
            kind = "threads" if name == "threads" else "tasks"
            print(f"| {workers} {kind}, {label} | {both[name]:.0f} | {both[name + ' cpu']:.1f} |")
        print(f"tasks/threads throughput: {both['tasks'] / both['threads']:.2f}; "
              f"async store/raw redis.asyncio tasks: {both['tasks'] / both['raw tasks']:.2f}")
        await backend.aclose()
        return over
    finally:
        cleaner = redis.Redis.from_url(url.split("?")[0])
        for key in cleaner.scan_iter(match=f"{prefix}*", count=1000):
            cleaner.unlink(key)
        cleaner.close()
        backend.close()


def main() -> int:
    """Parse the options and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--pairs", type=int, default=30)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--workers", type=int, default=64)
    args = parser.parse_args()
    return asyncio.run(run(args.url, args.pairs, args.batch, args.workers))


if __name__ == "__main__":
    raise SystemExit(main())
