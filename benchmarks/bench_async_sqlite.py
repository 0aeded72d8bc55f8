"""Async store calls on SQLite vs ``aiosqlite`` doing the same statements; 64 tasks vs 64
threads.

1. ``registry.astore(...)`` (one worker thread per file) against aiosqlite (one thread per
   connection, the usual raw async SQLite driver) running the same SQL on files made by
   the same migrations, with the same pragmas (WAL, ``synchronous=NORMAL``, busy
   timeout, foreign keys), writes in ``BEGIN IMMEDIATE`` transactions (aiosqlite's
   idiomatic spelling: ``isolation_level="IMMEDIATE"``, then ``execute`` and ``commit``),
   building the same dataclasses. The two sides run the same batch of sequential awaits
   back to back, alternating which goes first; ratio: median over pairs of store time /
   aiosqlite time. The sync store's time per call is shown beside them (the hand-off).
2. Throughput of 64 tasks awaiting the async store against 64 threads calling the sync
   store, each worker doing the same operations; ratio: tasks ops/s over threads ops/s.

    .venv/bin/python benchmarks/bench_async_sqlite.py [--pairs 40] [--batch 100] [--dir /dev/shm]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import aiosqlite
from bench_sqlite import (
    EXPIRES,
    PRAGMAS,
    REVOKE_INSERT,
    USAGE_INSERT,
    USER_INSERT,
    USER_SELECT,
    RawSQLite,
    Sides,
    dumps,
    now_iso,
)
from timing import threads_seconds, user

from aragora_storage_core.models import UsageEvent, User, to_iso
from aragora_storage_core.stores import TokenBlacklistStore, UsageStore, UserStore

WORKERS = 64


class RawAio:
    """What a careful programmer writes by hand with aiosqlite for the same operations."""

    def __init__(self, users: aiosqlite.Connection, tokens: aiosqlite.Connection) -> None:
        self.conn, self.tokens = users, tokens

    @classmethod
    async def open(cls, users_file: Path) -> RawAio:
        """Connections to the raw side's files, with the same pragmas."""
        connections = []
        for path in (users_file, users_file.with_name("token_blacklist.db")):
            conn = await aiosqlite.connect(path, timeout=30, isolation_level="IMMEDIATE")
            for pragma in PRAGMAS:
                await conn.execute(pragma)
            connections.append(conn)
        return cls(*connections)

    async def get_by_id(self, user_id: str) -> User | None:
        """Point read building a :class:`User`."""
        rows = list(await self.conn.execute_fetchall(USER_SELECT, (user_id,)))
        return RawSQLite._user(rows[0]) if rows else None

    async def create(self, new: User) -> User:
        """Insert one user in its own transaction."""
        row = RawSQLite._user_row(new)
        await _committed(self.conn, self.conn.execute(USER_INSERT, row))
        return RawSQLite._user(row)

    async def revoke(self, jti: str, expires_at: Any, user_id: str | None = None) -> None:
        """Blacklist one token id in its own transaction (its own file, as the store's)."""
        await _committed(self.tokens, self.tokens.execute(
            REVOKE_INSERT, (jti, to_iso(expires_at), user_id, now_iso())))

    async def record(self, event: UsageEvent) -> int:
        """Record one usage event in its own transaction; return its id."""
        row = (event.org_id, event.event_type, event.count, dumps(event.metadata),
               to_iso(event.timestamp) or now_iso())
        rows = await _committed(self.conn, self.conn.execute_fetchall(USAGE_INSERT, row))
        return int(next(iter(rows))[0])

    async def close(self) -> None:
        """Close both connections."""
        await self.conn.close()
        await self.tokens.close()


async def _committed(conn: aiosqlite.Connection, statement: Awaitable[Any]) -> Any:
    """Await ``statement`` (sqlite3 began the transaction) and commit, or roll back."""
    try:
        result = await statement
    except BaseException:
        await conn.rollback()
        raise
    await conn.commit()
    return result


def operations(side: str, ids: Sequence[str]) -> dict[str, Callable[[Any, int], Any]]:
    """One call of every compared operation, by call number, on a side's stores (an
    awaitable on async stores, the result on sync ones)."""
    made = iter(range(10**9))
    event = UsageEvent("org-1", "debate", 1)
    return {
        "get_by_id": lambda s, i: s.users.get_by_id(ids[i % len(ids)]),
        "UserStore.create": lambda s, i: s.users.create(user(f"{side}-a{next(made)}")),
        "TokenBlacklist.revoke": lambda s, i: s.tokens.revoke(f"{side}-j{next(made)}",
                                                               EXPIRES),
        "UsageStore.record": lambda s, i: s.usage.record(event),
    }


class Stores:
    """A side's stores under one set of names (``users``, ``tokens``, ``usage``)."""

    def __init__(self, users: Any, tokens: Any, usage: Any) -> None:
        self.users, self.tokens, self.usage = users, tokens, usage


async def batch_seconds(side: Stores, op: Callable[[Any, int], Any], batch: int) -> float:
    """Seconds per call of ``batch`` sequential awaits of ``op``."""
    start = time.perf_counter()
    for i in range(batch):
        await op(side, i)
    return (time.perf_counter() - start) / batch


def sync_seconds(side: Stores, op: Callable[[Any, int], Any], batch: int) -> float:
    """Seconds per call of ``batch`` sync calls of ``op``."""
    start = time.perf_counter()
    for i in range(batch):
        op(side, i)
    return (time.perf_counter() - start) / batch


async def compare_drivers(ours: Stores, raw: Stores, sync: Stores, ids: Sequence[str],
                          pairs: int, batch: int) -> list[tuple[str, float, float, float,
                                                               float]]:
    """Per operation: store µs, aiosqlite µs, median ratio, sync store µs.

    Each pair runs every operation, the two async sides back to back (alternating which
    goes first), so a burst of load from elsewhere hits both sides of an operation.
    """
    ops = {side: operations(side, ids) for side in ("store", "raw", "sync")}
    times: dict[str, dict[str, list[float]]] = {name: {} for name in ops["store"]}
    for n in range(pairs + 1):  # pair 0 warms up
        for name, measured in times.items():
            gc.disable()
            try:
                for side in ("store", "raw") if n % 2 else ("raw", "store"):
                    seconds = await batch_seconds(ours if side == "store" else raw,
                                                  ops[side][name], batch)
                    measured.setdefault(side, []).append(seconds)
                measured.setdefault("sync", []).append(
                    sync_seconds(sync, ops["sync"][name], batch))
            finally:
                gc.enable()
    return [(name, *(statistics.median(m[side][1:]) * 1e6 for side in ("store", "raw")),
             statistics.median(a / b for a, b in zip(m["store"][1:], m["raw"][1:],
                                                     strict=True)),
             statistics.median(m["sync"][1:]) * 1e6) for name, m in times.items()]


async def tasks_ops_per_second(ours: Stores, name: str, ids: Sequence[str],
                               each: int) -> float:
    """Operations per second of 64 tasks, each awaiting ``each`` calls."""
    op = operations(f"tasks{time.perf_counter_ns()}", ids)[name]

    async def worker(w: int) -> None:
        for i in range(each):
            await op(ours, w * each + i)

    start = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(WORKERS)))
    return WORKERS * each / (time.perf_counter() - start)


def threads_ops_per_second(sync: Stores, name: str, ids: Sequence[str], each: int) -> float:
    """Operations per second of 64 threads, each making ``each`` sync calls."""
    op = operations(f"threads{time.perf_counter_ns()}", ids)[name]
    return WORKERS * each / threads_seconds(WORKERS, each, lambda n: op(sync, n))


async def compare_concurrency(ours: Stores, sync: Stores, ids: Sequence[str], rounds: int,
                              each: int) -> list[tuple[str, float, float, float]]:
    """Per operation: tasks ops/s, threads ops/s, median ratio over alternating rounds."""
    rows = []
    for name in ("get_by_id", "UserStore.create"):
        tasks, threads, ratios = [], [], []
        for n in range(rounds):
            if n % 2:
                b = threads_ops_per_second(sync, name, ids, each)
                a = await tasks_ops_per_second(ours, name, ids, each)
            else:
                a = await tasks_ops_per_second(ours, name, ids, each)
                b = threads_ops_per_second(sync, name, ids, each)
            tasks.append(a)
            threads.append(b)
            ratios.append(a / b)
        rows.append((name, statistics.median(tasks), statistics.median(threads),
                     statistics.median(ratios)))
    return rows


async def run(args: argparse.Namespace, tmp: str) -> None:
    """Both comparisons on one set of files, printed as Markdown tables."""
    sides = Sides(tmp)  # the registry's files and the raw files, same migrations and seed
    sides.raw.close()
    registry = sides.registries[0]
    ours = Stores(registry.astore(UserStore), registry.astore(TokenBlacklistStore),
                  registry.astore(UsageStore))
    threads = Stores(sides.users, sides.tokens, sides.usage)  # the files the tasks use
    apart = Sides(f"{tmp}/sync")  # the sync reference on files of its own
    sync = Stores(apart.users, apart.tokens, apart.usage)
    raw_aio = await RawAio.open(Path(tmp) / "raw" / "users.db")
    raw = Stores(raw_aio, raw_aio, raw_aio)
    load = os.getloadavg()
    try:
        drivers = await compare_drivers(ours, raw, sync, sides.ids, args.pairs, args.batch)
        concurrency = await compare_concurrency(ours, threads, sides.ids, args.rounds,
                                                args.each)
    finally:
        await raw_aio.close()
        await registry.aclose()
        sides.close()
        apart.close()
    load_after = os.getloadavg()

    where = args.dir or tempfile.gettempdir()
    print(f"Async SQLite stores vs aiosqlite, {args.pairs} alternating pairs of "
          f"{args.batch} sequential awaits, in {where}; Python {sys.version.split()[0]}, "
          f"load average {load[0]:.2f} before, {load_after[0]:.2f} after")
    print("| operation | async store µs | aiosqlite µs | ratio | sync store µs |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, a, b, ratio, s in drivers:
        print(f"| `{name}` | {a:.1f} | {b:.1f} | {ratio:.3f} | {s:.1f} |")
    print(f"\n{WORKERS} tasks (async store) vs {WORKERS} threads (sync store), "
          f"{args.each} calls each, median of {args.rounds} alternating rounds")
    print("| operation | tasks ops/s | threads ops/s | ratio |")
    print("| --- | ---: | ---: | ---: |")
    for name, a, b, ratio in concurrency:
        print(f"| `{name}` | {a:.0f} | {b:.0f} | {ratio:.2f} |")


def main(argv: Sequence[str] | None = None) -> None:
    """Run both comparisons and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=40, help="alternating batch pairs")
    parser.add_argument("--batch", type=int, default=100, help="awaits per batch")
    parser.add_argument("--rounds", type=int, default=7, help="tasks-vs-threads rounds")
    parser.add_argument("--each", type=int, default=30, help="calls per task or thread")
    parser.add_argument("--dir", help="where the databases go (e.g. /dev/shm)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        asyncio.run(run(args, tmp))


if __name__ == "__main__":
    main()
