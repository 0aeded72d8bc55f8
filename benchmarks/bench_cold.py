"""Cold start: the first store call of a fresh process against a raw driver process.

Each contender is a new interpreter doing the whole job once; contenders take turns
(A B A B ...) so the machine's load hits them alike, and the ratio is the median over turns
of A's time / B's time, for wall time and for CPU time (user + system of the child):

* PostgreSQL: ``get_registry().store("users").get_by_id(...)`` with ``DATABASE_URL`` set,
  against a raw psycopg2 process (import, connect, the same query). Target: 2x.
* SQLite: the same store call on the SQLite default, against raw ``sqlite3`` (import,
  connect, the same query). No target in the issue; shown for the in-process cost.
* ``aragora-storage doctor`` on PostgreSQL against ``doctor`` on SQLite, and against
  ``doctor`` on SQLite plus the server's round trips (target: 1.3x). The round trips are
  counted as the messages the client sends to the server (every ``send`` of libpq, seen
  with ``strace``: each one waits for the server's answer; the connection start-up counts
  two per connection), and each costs the median time of a ``SELECT 1`` on an open
  connection, measured in this process; without ``strace`` that row is left out.

Bytecode caches are written first (``PYTHONDONTWRITEBYTECODE`` is dropped for the
children), as an installed package has them. ``--instructions`` counts, instead of
timing, the instructions of one PostgreSQL first call and one raw psycopg2 process with
valgrind's callgrind (the machine's load does not move them).

    .venv/bin/python benchmarks/bench_cold.py [--turns 15] [--instructions]
    BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres (admin URL, default)
"""

from __future__ import annotations

import argparse
import os
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg2
from callgrind import instructions

ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL",
                           "postgresql://postgres@127.0.0.1:5432/postgres")
OURS = ("from aragora_storage_core import get_registry\n"
        "get_registry().store('users').get_by_id('nobody')\n")
RAW_PG = ("import psycopg2\n"
          "conn = psycopg2.connect({url!r})\n"
          "conn.autocommit = True\n"
          "cursor = conn.cursor()\n"
          "cursor.execute('SELECT id, email FROM users WHERE id = %s', ('nobody',))\n"
          "cursor.fetchone()\n")
RAW_SQLITE = ("import sqlite3\n"
              "conn = sqlite3.connect({path!r}, isolation_level=None)\n"
              "conn.execute('SELECT id, email FROM users WHERE id = ?', ('nobody',)).fetchone()\n")


def run_once(argv: list[str], env: dict[str, str], cwd: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one child process running ``argv``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def compare(name: str, a: tuple[list[str], dict[str, str]], b: tuple[list[str], dict[str, str]],
            turns: int, cwd: str, b_extra: float = 0.0) -> str:
    """One Markdown row: medians of A and B and the median ratio A/B (range in brackets).

    ``b_extra`` seconds are added to B's wall time (the server's round trips).
    """
    for argv, env in (a, b):  # warm-up: bytecode caches, the server's first connection
        run_once(argv, env, cwd)
    times: dict[str, list[tuple[float, float]]] = {"a": [], "b": []}
    for turn in range(turns):
        order = ("a", "b") if turn % 2 == 0 else ("b", "a")
        for side in order:
            argv, env = a if side == "a" else b
            wall, cpu = run_once(argv, env, cwd)
            times[side].append((wall + (b_extra if side == "b" else 0.0), cpu))
    cells = []
    for index in (0, 1):  # wall, cpu
        ratios = [x[index] / y[index] for x, y in zip(times["a"], times["b"], strict=True)]
        cells.append(f"{statistics.median(t[index] for t in times['a']) * 1000:.0f} / "
                     f"{statistics.median(t[index] for t in times['b']) * 1000:.0f} ms = "
                     f"{statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f})")
    return f"| {name} | {cells[0]} | {cells[1]} |"


def round_trips(argv: list[str], env: dict[str, str], cwd: str) -> int | None:
    """Messages the client sends to the server while running ``argv`` (``None``: no strace).

    libpq sends every message with ``MSG_NOSIGNAL``; Python's own sockets do not.
    """
    strace = shutil.which("strace")
    if strace is None:
        return None
    with tempfile.NamedTemporaryFile("r", suffix=".strace") as log:
        subprocess.run([strace, "-f", "-e", "trace=sendto", "-o", log.name, *argv], env=env,
                       cwd=cwd, check=False, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        return sum("MSG_NOSIGNAL" in line for line in log)


def round_trip_seconds(url: str, count: int = 200) -> float:
    """Median seconds of one ``SELECT 1`` on an open connection to ``url``."""
    conn = psycopg2.connect(url)
    conn.autocommit = True
    cursor = conn.cursor()
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        cursor.execute("SELECT 1")
        cursor.fetchone()
        samples.append(time.perf_counter() - start)
    conn.close()
    return statistics.median(samples)


def main() -> int:
    """Create a migrated scratch PostgreSQL database and SQLite directory; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=15)
    parser.add_argument("--instructions", action="store_true",
                        help="count instructions of the PostgreSQL row instead (callgrind)")
    args = parser.parse_args()
    python = sys.executable
    command = shutil.which("aragora-storage", path=str(Path(python).parent))
    assert command is not None, "the aragora-storage console script is not installed"
    base = {k: v for k, v in os.environ.items()
            if not k.startswith("ARAGORA_") and k not in ("DATABASE_URL", "REDIS_URL",
                                                          "SUPABASE_URL",
                                                          "PYTHONDONTWRITEBYTECODE")}
    name = f"bench_cold_{secrets.token_hex(4)}"
    admin = psycopg2.connect(ADMIN_URL)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            pg_env = {**base, "DATABASE_URL": url}
            sqlite_env = {**base, "ARAGORA_DATA_DIR": tmp}
            for env in (pg_env, sqlite_env):
                subprocess.run([command, "migrate", "--migrate"], env=env, cwd=tmp, check=True,
                               stdout=subprocess.DEVNULL)
            users_db = str(Path(tmp) / "users.db")
            if args.instructions:
                for argv, env in (([python, "-c", OURS], pg_env),
                                  ([python, "-c", RAW_PG.format(url=url)], base)):
                    run_once(argv, env, tmp)  # bytecode caches
                ours = instructions([python, "-c", OURS], pg_env, tmp)
                raw = instructions([python, "-c", RAW_PG.format(url=url)], base, tmp)
                print(f"first PostgreSQL store call: {ours / 1e6:.0f}M instructions, raw"
                      f" psycopg2 process: {raw / 1e6:.0f}M, ratio {ours / raw:.2f}x")
                return 0
            trips = round_trips([command, "doctor"], pg_env, tmp)
            rtt = round_trip_seconds(url)
            rows = [
                compare("first PostgreSQL store call / raw psycopg2 process",
                        ([python, "-c", OURS], pg_env),
                        ([python, "-c", RAW_PG.format(url=url)], base), args.turns, tmp),
                compare("first SQLite store call / raw sqlite3 process",
                        ([python, "-c", OURS], sqlite_env),
                        ([python, "-c", RAW_SQLITE.format(path=users_db)], base), args.turns,
                        tmp),
                compare("`doctor` on PostgreSQL / `doctor` on SQLite",
                        ([command, "doctor"], pg_env), ([command, "doctor"], sqlite_env),
                        args.turns, tmp),
            ]
            if trips is not None:
                rows.append(compare(
                    f"`doctor` on PostgreSQL / (`doctor` on SQLite + {trips} round trips"
                    f" of {rtt * 1e6:.0f} µs)", ([command, "doctor"], pg_env),
                    ([command, "doctor"], sqlite_env), args.turns, tmp, trips * rtt))
    finally:
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
    print(f"{args.turns} turns each, Python {sys.version.split()[0]}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print("| comparison (A / B) | wall, medians | CPU (user + sys), medians |")
    print("| --- | --- | --- |")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
