"""The async API on PostgreSQL: async stores vs raw asyncpg, and 64 tasks vs 64 threads.

(a) Per call: ``registry.astore`` stores (``UserStore.get_by_id``/``create``,
``TokenBlacklistStore.revoke``, ``UsageStore.record``) against hand-written asyncpg
doing the same statements (with the same row helpers) on the **same** async pool, one
task, the two sides alternating call by call; the figure is the median store call time /
the median raw call time (target 1.10). On a shared machine a burst of load lands on a
few calls of either side; the median over rounds of the ratio of the rounds' sums,
which such bursts move, is printed beside it.

(b) Throughput: 64 asyncio tasks on the async API against 64 threads on the sync API
(psycopg2), both with 15 pooled connections (``ARAGORA_DB_POOL_SIZE=15``, no overflow),
doing point reads and single-row creates; rounds alternate; median ops/s and the ratio
async / sync (target at least 1.0).

Sessions commit with ``synchronous_commit=off`` (the same disk flush on every side
would drown the per-call cost).

    .venv/bin/python benchmarks/bench_async_postgres.py [--rounds 15] [--batch 200]
    BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres (admin URL, default)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import secrets
import statistics
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg2
from aragora_storage_postgres.backend import PostgresBackend
from timing import user

from aragora_storage_core.migrations.types import MigrationAction, MigrationRequest
from aragora_storage_core.models import Organization, UsageEvent, utcnow_iso
from aragora_storage_core.registry import Registry
from aragora_storage_core.sql.stores.accounts import USER_COLUMNS, user_from_row, user_to_row
from aragora_storage_core.sql.stores.activity import USAGE_COLUMNS, usage_row

ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL",
                           "postgresql://postgres@127.0.0.1:5432/postgres")
NO_FLUSH = "-c%20synchronous_commit%3Doff"
POOL, WORKERS, SEEDED = 15, 64, 500
TARGET, THROUGHPUT_TARGET = 1.10, 1.0


def marks(count: int, first: int = 1) -> str:
    """``$1, $2, ...``: asyncpg's placeholders, written out for the raw side."""
    return ", ".join(f"${n}" for n in range(first, first + count))


SELECT_USER = f"SELECT {', '.join(USER_COLUMNS)} FROM users WHERE id = $1"
INSERT_USER = (f"INSERT INTO users ({', '.join(USER_COLUMNS)})"
               f" VALUES ({marks(len(USER_COLUMNS))})")
REVOKE = ("INSERT INTO token_blacklist (jti, expires_at, user_id, revoked_at)"
          " VALUES ($1, $2, $3, $4) ON CONFLICT (jti) DO NOTHING")
RECORD = (f"INSERT INTO usage_events ({', '.join(USAGE_COLUMNS)})"
          f" VALUES ({marks(len(USAGE_COLUMNS))}) RETURNING id")
EXPIRES = "2999-01-01T00:00:00+00:00"

Call = Callable[[int], Awaitable[Any]]


class Raw:
    """Hand-written asyncpg on the async stores' own pool."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool

    async def get_by_id(self, i: int) -> Any:
        """A point read turned into a ``User``."""
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(SELECT_USER, f"seed{i % SEEDED}")
        return None if row is None else user_from_row(row)

    async def write(self, sql: str, params: tuple[Any, ...], returning: bool = False) -> Any:
        """One statement in ``BEGIN`` ... ``COMMIT``."""
        async with self.pool.acquire() as conn, conn.transaction():
            if returning:
                return await conn.fetchval(sql, *params)
            await conn.execute(sql, *params)
            return None


def sides(registry: Registry, raw: Raw, tag: str) -> dict[str, tuple[Call, Call]]:
    """Operation -> (store call, raw call), each taking a call number."""
    users, tokens, usage = (registry.astore(k) for k in ("users", "token_blacklist", "usage"))

    def event() -> UsageEvent:
        return UsageEvent(org_id="org-1", event_type="api_call", metadata={"n": 1})

    return {
        "UserStore.get_by_id": (lambda i: users.get_by_id(f"seed{i % SEEDED}"), raw.get_by_id),
        "UserStore.create": (
            lambda i: users.create(user(f"s{tag}-{i}")),
            lambda i: raw.write(INSERT_USER, user_to_row(user(f"r{tag}-{i}")))),
        "TokenBlacklistStore.revoke": (
            lambda i: tokens.revoke(f"s{tag}-{i}", EXPIRES),
            lambda i: raw.write(REVOKE, (f"r{tag}-{i}", EXPIRES, None, utcnow_iso()))),
        "UsageStore.record": (
            lambda i: usage.record(event()),
            lambda i: raw.write(RECORD, usage_row(event()), returning=True)),
    }


async def per_call(registry: Registry, rounds: int, batch: int) -> list[dict[str, Any]]:
    """(a): per operation, the median time of a store call and of a raw call, their ratio
    (the target), and the median over rounds of the ratio of the rounds' sums (which a
    burst of load landing on one side's calls moves: reported beside it)."""
    backend = registry.active()
    assert isinstance(backend, PostgresBackend)
    pool = await backend._async_database().pools.pool("primary")
    raw = Raw(pool)
    results = []
    for name in sides(registry, raw, "warm"):
        calls: dict[str, list[float]] = {"store": [], "raw": []}
        sums = []
        for turn in range(rounds + 1):
            store_call, raw_call = sides(registry, raw, f"{turn}{secrets.token_hex(3)}")[name]
            spent = {"store": 0.0, "raw": 0.0}
            for i in range(batch):
                pair = [("store", store_call), ("raw", raw_call)]
                for side, call in pair if (turn + i) % 2 else pair[::-1]:
                    start = time.perf_counter()
                    await call(i)
                    took = time.perf_counter() - start
                    spent[side] += took
                    if turn:  # round 0 warms up
                        calls[side].append(took)
            if turn:
                sums.append(spent["store"] / spent["raw"])
        store_ms, raw_ms = (statistics.median(calls[side]) * 1000 for side in ("store", "raw"))
        results.append({"operation": name, "store_ms": store_ms, "raw_ms": raw_ms,
                        "ratio": store_ms / raw_ms, "sum_ratio": statistics.median(sums)})
    return results


async def tasks_rate(registry: Registry, op: str, count: int,
                     tag: str) -> tuple[float, float]:
    """(b): ops/s of 64 tasks on the async API sharing ``count`` calls."""
    users = registry.astore("users")
    share = count // WORKERS

    async def worker(w: int) -> None:
        for i in range(share):
            if op == "read":
                await users.get_by_id(f"seed{(w * share + i) % SEEDED}")
            else:
                await users.create(user(f"a{tag}-{w}-{i}"))

    start, cpu = time.perf_counter(), process_cpu()
    await asyncio.gather(*(worker(w) for w in range(WORKERS)))
    return rates(share * WORKERS, start, cpu)


def threads_rate(registry: Registry, op: str, count: int, tag: str,
                 executor: ThreadPoolExecutor) -> tuple[float, float]:
    """(b): ops/s of 64 threads on the sync API sharing ``count`` calls."""
    users = registry.store("users")
    share = count // WORKERS

    def worker(w: int) -> None:
        for i in range(share):
            if op == "read":
                users.get_by_id(f"seed{(w * share + i) % SEEDED}")
            else:
                users.create(user(f"t{tag}-{w}-{i}"))

    start, cpu = time.perf_counter(), process_cpu()
    list(executor.map(worker, range(WORKERS)))
    return rates(share * WORKERS, start, cpu)


def process_cpu() -> float:
    """CPU seconds this process has used (user + system, every thread)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rates(ops: int, start: float, cpu: float) -> tuple[float, float]:
    """(ops per second, client CPU microseconds per op) since ``start``/``cpu``."""
    return ops / (time.perf_counter() - start), (process_cpu() - cpu) / ops * 1e6


def throughput(registry: Registry, rounds: int,
               count: int) -> dict[str, dict[str, tuple[float, float]]]:
    """(b): median (ops/s, CPU us/op) per side and operation, rounds alternating sides."""
    seen: dict[str, dict[str, list[tuple[float, float]]]] = {"read": {}, "create": {}}
    loop = asyncio.new_event_loop()
    with ThreadPoolExecutor(WORKERS) as executor:
        try:
            for turn in range(rounds + 1):
                for op in seen:
                    tag = f"{turn}{secrets.token_hex(3)}"
                    order = ["async", "sync"] if turn % 2 else ["sync", "async"]
                    for side in order:
                        measured = (loop.run_until_complete(tasks_rate(registry, op, count, tag))
                                if side == "async"
                                else threads_rate(registry, op, count, tag, executor))
                        if turn:
                            seen[op].setdefault(side, []).append(measured)
            loop.run_until_complete(registry.aclose())
        finally:
            loop.close()
    return {op: {side: (statistics.median(r for r, _ in got),
                        statistics.median(c for _, c in got))
                 for side, got in by_side.items()}
            for op, by_side in seen.items()}


def prepare(url: str) -> Registry:
    """A registry on ``url`` with 15 pooled connections, migrated and seeded."""
    registry = Registry(env={"DATABASE_URL": url, "ARAGORA_DB_POOL_SIZE": str(POOL),
                             "ARAGORA_DB_POOL_MAX_OVERFLOW": "0"})
    backend = registry.active()
    registry.hook.storage_migrate(backend=backend,
                                  request=MigrationRequest(MigrationAction.MIGRATE))
    registry.store("organizations").create(Organization(id="org-1", name="Org", slug="org"))
    registry.store("users").create_many([user(f"seed{i}") for i in range(SEEDED)])
    return registry


def main() -> int:
    """Run (a) and (b) on a scratch database; print the tables; 0 when on target."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--ops", type=int, default=3200, help="calls per throughput round")
    args = parser.parse_args()
    name = f"i15pg_bench_{secrets.token_hex(4)}"
    admin = psycopg2.connect(ADMIN_URL)
    admin.autocommit = True
    admin.cursor().execute(f"CREATE DATABASE {name}")
    try:
        registry = prepare(ADMIN_URL.rsplit("/", 1)[0] + f"/{name}?options={NO_FLUSH}")
        calls = asyncio.run(per_call(registry, args.rounds, args.batch))
        rates = throughput(registry, max(3, args.rounds // 3), args.ops)
        registry.close()
    finally:
        admin.cursor().execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average {load}; pool {POOL}")
    print(f"| operation ({args.rounds} rounds x {args.batch}) | async store ms (median) |"
          " raw asyncpg ms (median) | ratio | ratio of round sums |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for row in calls:
        flag = "" if row["ratio"] <= TARGET else " (over target)"
        print(f"| {row['operation']} | {row['store_ms']:.3f} | {row['raw_ms']:.3f} |"
              f" {row['ratio']:.3f}{flag} | {row['sum_ratio']:.3f} |")
    print(f"\n| {WORKERS} callers, pool {POOL} | async tasks ops/s | sync threads ops/s |"
          " async / sync | client CPU us/op, async / sync |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for op, by_side in rates.items():
        (fast, fast_cpu), (slow, slow_cpu) = by_side["async"], by_side["sync"]
        flag = "" if fast / slow >= THROUGHPUT_TARGET else " (under target)"
        print(f"| UserStore.{'get_by_id' if op == 'read' else 'create'} | {fast:,.0f} |"
              f" {slow:,.0f} | {fast / slow:.2f}{flag} | {fast_cpu:.0f} / {slow_cpu:.0f} |")
    ok = all(r["ratio"] <= TARGET for r in calls) and all(
        s["async"][0] / s["sync"][0] >= THROUGHPUT_TARGET for s in rates.values())
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
