"""Which async PostgreSQL driver the backend's async path uses: asyncpg vs psycopg 3, raw.

Both drivers, each with its own pool of the same size (15 connections, opened before the
clock starts), run the same two workloads from 64 concurrent tasks against the same
scratch table: a point ``SELECT`` by primary key, and a single-row ``INSERT`` in its own
transaction (``BEGIN`` / ``INSERT`` / ``COMMIT``). One task alone runs them too (latency
without queueing). The drivers alternate round by round; the figure is the median over
rounds. Sessions commit with ``synchronous_commit=off`` so that the disk flush (the same
for both) does not drown the per-call cost. asyncpg's pool resets every connection it
takes back (one more round trip per checkout); the ``asyncpg, no reset`` line turns that
off to show the driver itself.

    .venv/bin/python benchmarks/bench_async_drivers.py [--rounds 5] [--ops 3000]
    BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres (admin URL, default)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import psycopg
import psycopg_pool

ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL",
                           "postgresql://postgres@127.0.0.1:5432/postgres")
POOL, TASKS, ROWS = 15, 64, 1000
SELECT_PG = "SELECT id, email, name, payload FROM bench WHERE id = %s"
INSERT_PG = "INSERT INTO bench_writes (id, email, name, payload) VALUES (%s, %s, %s, %s)"
SELECT_APG = "SELECT id, email, name, payload FROM bench WHERE id = $1"
INSERT_APG = "INSERT INTO bench_writes (id, email, name, payload) VALUES ($1, $2, $3, $4)"


def row(key: str) -> tuple[str, str, str, str]:
    """The row both drivers write."""
    return (key, f"{key}@example.com", "Bench User", '{"theme":"dark"}')


class Asyncpg:
    """asyncpg's own pool; ``reset=False`` skips its reset query at each release."""

    def __init__(self, url: str, reset: bool) -> None:
        self.url, self.reset = url, reset
        self.name = "asyncpg" if reset else "asyncpg, no reset"

    async def open(self) -> None:
        """The pool, every connection opened."""
        extra: dict[str, Any] = {} if self.reset else {"reset": _no_reset}
        self.pool = await asyncpg.create_pool(
            self.url, min_size=POOL, max_size=POOL,
            server_settings={"synchronous_commit": "off"}, **extra)

    async def select(self, i: int) -> Any:
        """One point read."""
        async with self.pool.acquire() as conn:
            return await conn.fetchrow(SELECT_APG, f"u{i % ROWS}")

    async def insert(self, key: str) -> None:
        """One single-row write transaction."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(INSERT_APG, *row(key))

    async def close(self) -> None:
        """Close the pool."""
        await self.pool.close()


async def _no_reset(conn: Any) -> None:
    return None


class Psycopg:
    """psycopg 3 with ``psycopg_pool.AsyncConnectionPool`` (autocommit connections)."""

    name = "psycopg 3"

    def __init__(self, url: str) -> None:
        self.url = url

    async def open(self) -> None:
        """The pool, every connection opened."""
        self.pool = psycopg_pool.AsyncConnectionPool(
            self.url, min_size=POOL, max_size=POOL, open=False,
            kwargs={"autocommit": True, "options": "-c synchronous_commit=off"})
        await self.pool.open(wait=True)

    async def select(self, i: int) -> Any:
        """One point read."""
        async with self.pool.connection() as conn:
            cursor = await conn.execute(SELECT_PG, (f"u{i % ROWS}",))
            return await cursor.fetchone()

    async def insert(self, key: str) -> None:
        """One single-row write transaction."""
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute(INSERT_PG, row(key))

    async def close(self) -> None:
        """Close the pool."""
        await self.pool.close()


def _inserting(driver: Asyncpg | Psycopg) -> Callable[[int], Awaitable[None]]:
    """``driver.insert`` with keys nobody used before."""
    tag = secrets.token_hex(6)
    return lambda i: driver.insert(f"{tag}-{i}")


async def throughput(call: Callable[[int], Awaitable[Any]], ops: int, tasks: int) -> float:
    """Operations per second of ``tasks`` concurrent tasks sharing ``ops`` calls."""
    share = ops // tasks

    async def worker(offset: int) -> None:
        for i in range(offset, offset + share):
            await call(i)

    start = time.perf_counter()
    await asyncio.gather(*(worker(t * share) for t in range(tasks)))
    return share * tasks / (time.perf_counter() - start)


async def measure(url: str, rounds: int, ops: int) -> dict[str, dict[str, list[float]]]:
    """Every driver's throughput per workload and concurrency, per round."""
    drivers = [Asyncpg(url, reset=True), Asyncpg(url, reset=False), Psycopg(url)]
    for driver in drivers:
        await driver.open()
    results: dict[str, dict[str, list[float]]] = {d.name: {} for d in drivers}
    try:
        for turn in range(rounds):
            order = drivers if turn % 2 == 0 else drivers[::-1]
            for driver in order:
                for workload in ("select", "insert"):
                    for tasks in (TASKS, 1):
                        call = driver.select if workload == "select" else _inserting(driver)
                        count = ops if tasks > 1 else ops // 4
                        rate = await throughput(call, count, tasks)
                        results[driver.name].setdefault(f"{workload}, {tasks} tasks",
                                                        []).append(rate)
    finally:
        for driver in drivers:
            await driver.close()
    return results


def scratch(admin_url: str) -> tuple[str, str]:
    """A new database with the seeded table; returns (its name, its URL)."""
    import psycopg2

    name = f"i15pg_bench_{secrets.token_hex(4)}"
    admin = psycopg2.connect(admin_url)
    admin.autocommit = True
    admin.cursor().execute(f"CREATE DATABASE {name}")
    admin.close()
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    conn = psycopg2.connect(url)
    conn.autocommit = True
    cursor = conn.cursor()
    for table in ("bench", "bench_writes"):
        cursor.execute(f"CREATE TABLE {table} (id TEXT PRIMARY KEY, email TEXT NOT NULL,"
                       " name TEXT, payload TEXT)")
    cursor.executemany("INSERT INTO bench VALUES (%s, %s, %s, %s)",
                       [row(f"u{i}") for i in range(ROWS)])
    conn.close()
    return name, url


def drop(admin_url: str, name: str) -> None:
    """Drop the scratch database."""
    import psycopg2

    admin = psycopg2.connect(admin_url)
    admin.autocommit = True
    admin.cursor().execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.close()


def main() -> None:
    """Run, print the table and the choice's facts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--ops", type=int, default=3000)
    args = parser.parse_args()
    name, url = scratch(ADMIN_URL)
    try:
        results = asyncio.run(measure(url, args.rounds, args.ops))
    finally:
        drop(ADMIN_URL, name)
    print(f"asyncpg {asyncpg.__version__}, psycopg {psycopg.__version__}, psycopg_pool"
          f" {psycopg_pool.__version__}; pool {POOL}; load average"
          f" {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    workloads = list(next(iter(results.values())))
    print(f"| driver ({args.rounds} rounds, ops/s, median) | " + " | ".join(workloads) + " |")
    print("| --- |" + " ---: |" * len(workloads))
    for driver, rates in results.items():
        cells = " | ".join(f"{statistics.median(rates[w]):,.0f}" for w in workloads)
        print(f"| {driver} | {cells} |")
    base = {w: statistics.median(rates) for w, rates in results["psycopg 3"].items()}
    for driver, rates in results.items():
        ratios = ", ".join(f"{w}: {statistics.median(rates[w]) / base[w]:.2f}" for w in workloads)
        print(f"{driver} / psycopg 3: {ratios}")


if __name__ == "__main__":
    main()
