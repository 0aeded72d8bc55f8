"""Many threads on few PostgreSQL connections: fairness, waits and throughput of the pool.

Each contender is a pool under the same :class:`PostgresDatabase` (the stores' read path,
``fetch_one``); ``--threads`` threads each read one row by primary key in a loop for
``--seconds``, and every ``acquire`` is timed. Contenders take turns, ``--rounds`` each:

* ``fair``: the plugin's pool (FIFO hand-off to waiters);
* ``baseline``: the plugin's pool as it was at ``--baseline-ref`` (git), if given; the
  pool before the fair one was SQLAlchemy's ``QueuePool`` behind a LIFO idle stack;
* ``sqlalchemy``: SQLAlchemy's ``QueuePool`` alone (if SQLAlchemy is installed).

Reported per contender (median over rounds, range in brackets): reads per second, the
fewest and the median reads of one thread and their ratio (target: at least 0.5), the
p99 and the longest wait for a connection (target: p99 under the pool timeout).

    .venv/bin/python benchmarks/bench_pool.py [--threads 64] [--size 10] [--overflow 5]
        [--seconds 3] [--rounds 3] [--baseline-ref 4bcc6af]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg2
from aragora_storage_postgres.connection import connect_kwargs, open_connection
from aragora_storage_postgres.database import PostgresDatabase
from aragora_storage_postgres.pool import ConnectionPool

from aragora_storage_core.url import parse_url

ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL",
                           "postgresql://postgres@127.0.0.1:5432/postgres")
POOL_PATH = "plugins/postgres/aragora_storage_postgres/pool.py"
TIMEOUT = 30.0


class SQLAlchemyPool:
    """SQLAlchemy's ``QueuePool`` behind the plugin pool's interface (acquire/release)."""

    def __init__(self, creator: Callable[[], Any], size: int, overflow: int) -> None:
        from sqlalchemy.pool import QueuePool

        self.pool = QueuePool(creator, pool_size=size, max_overflow=overflow,
                              timeout=TIMEOUT, reset_on_return=None)

    def acquire(self) -> Any:
        fairy = self.pool.connect()
        fairy.raw = fairy.dbapi_connection
        return fairy

    def release(self, fairy: Any) -> None:
        fairy.close()

    def discard(self, fairy: Any) -> None:
        fairy.invalidate()

    def close(self) -> None:
        self.pool.dispose()


def baseline_pool_class(ref: str) -> Any:
    """``ConnectionPool`` as the plugin's ``pool.py`` was at git revision ``ref``."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    source = subprocess.run(["git", "-C", root, "show", f"{ref}:{POOL_PATH}"], check=True,
                            capture_output=True, text=True).stdout
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as file:
        file.write(source)
    spec = importlib.util.spec_from_file_location("baseline_pool", file.name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    os.unlink(file.name)
    return module.ConnectionPool


class Timed:
    """A pool whose ``acquire`` records how long each caller waited."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self.waits: list[float] = []
        self.release, self.discard = pool.release, pool.discard

    def acquire(self) -> Any:
        start = time.perf_counter()
        lease = self.pool.acquire()
        self.waits.append(time.perf_counter() - start)  # list.append: atomic under the GIL
        return lease


def run_round(database: PostgresDatabase, pool: Any, threads: int,
              seconds: float) -> dict[str, float]:
    """Every thread reads in a loop for ``seconds``; per-thread counts and the waits."""
    timed = Timed(pool)
    database.pool = timed  # type: ignore[assignment]
    counts = [0] * threads
    stop = threading.Event()
    ready = threading.Barrier(threads + 1)

    def work(number: int) -> None:
        key = f"k{number % 100}"
        ready.wait()
        while not stop.is_set():
            database.fetch_one("SELECT v FROM bench_pool WHERE k = %s", (key,))
            counts[number] += 1

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    ready.wait()
    start = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - start
    waits = sorted(timed.waits)
    median = statistics.median(counts)
    return {"throughput": sum(counts) / elapsed, "fewest": min(counts), "median": median,
            "most": max(counts),
            "fairness": min(counts) / median if median else 0.0,
            "p99_ms": waits[int(len(waits) * 0.99)] * 1000, "max_ms": waits[-1] * 1000}


def main() -> int:
    """Create a scratch database, run the contenders in turns, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=64)
    parser.add_argument("--size", type=int, default=10)
    parser.add_argument("--overflow", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline-ref", help="git revision of the pool to compare with")
    args = parser.parse_args()

    admin_url = parse_url(ADMIN_URL)
    name = f"bench_pool_{secrets.token_hex(4)}"
    admin = open_connection(admin_url, connect_kwargs(admin_url))
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    url = parse_url(ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    kwargs = connect_kwargs(url)
    try:
        setup = psycopg2.connect(**kwargs)
        with setup, setup.cursor() as cursor:
            cursor.execute("CREATE TABLE bench_pool (k TEXT PRIMARY KEY, v TEXT)")
            cursor.execute("INSERT INTO bench_pool SELECT 'k' || n, 'value ' || n"
                           " FROM generate_series(0, 99) n")
        setup.close()

        def creator() -> Any:
            return open_connection(url, kwargs)

        makers: dict[str, Callable[[], Any]] = {"fair": lambda: ConnectionPool(
            creator, size=args.size, max_overflow=args.overflow, timeout=TIMEOUT)}
        if args.baseline_ref:
            baseline = baseline_pool_class(args.baseline_ref)
            makers["baseline"] = lambda: baseline(creator, size=args.size,
                                                  max_overflow=args.overflow, timeout=TIMEOUT)
        if importlib.util.find_spec("sqlalchemy") is not None:
            makers["sqlalchemy"] = lambda: SQLAlchemyPool(creator, args.size, args.overflow)
        database = PostgresDatabase(url, pool_size=1, max_overflow=0)
        database.pool.close()
        results: dict[str, list[dict[str, float]]] = {side: [] for side in makers}
        for _ in range(args.rounds):
            for side, make in makers.items():
                pool = make()
                results[side].append(run_round(database, pool, args.threads, args.seconds))
                pool.close()
        report(results, args)
    finally:
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
    return 0


def report(results: dict[str, list[dict[str, float]]], args: argparse.Namespace) -> None:
    """One Markdown row per contender: medians over rounds, ranges in brackets."""
    def cell(rounds: list[dict[str, float]], key: str, fmt: str) -> str:
        values = [r[key] for r in rounds]
        return (f"{format(statistics.median(values), fmt)} "
                f"({format(min(values), fmt)}-{format(max(values), fmt)})")

    print(f"{args.threads} threads, pool {args.size} + {args.overflow}, {args.seconds:g} s "
          f"x {args.rounds} rounds each, timeout {TIMEOUT:g} s, Python {sys.version.split()[0]}")
    print("| pool | reads/s | reads of the slowest thread | median thread | busiest thread |"
          " slowest / median | p99 wait ms | max wait ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for side, rounds in results.items():
        print(f"| {side} | {cell(rounds, 'throughput', '.0f')} | {cell(rounds, 'fewest', '.0f')}"
              f" | {cell(rounds, 'median', '.0f')} | {cell(rounds, 'most', '.0f')}"
              f" | {cell(rounds, 'fairness', '.2f')} | "
              f"{cell(rounds, 'p99_ms', '.1f')} | "
              f"{cell(rounds, 'max_ms', '.0f')} |")
    if "baseline" in results:
        ratios = [f["throughput"] / b["throughput"]
                  for f, b in zip(results["fair"], results["baseline"], strict=True)]
        print(f"throughput fair / baseline: {statistics.median(ratios):.3f} "
              f"({min(ratios):.3f}-{max(ratios):.3f})")


if __name__ == "__main__":
    raise SystemExit(main())
