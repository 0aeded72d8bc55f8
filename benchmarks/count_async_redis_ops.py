"""Instructions per async Redis store call vs raw ``redis.asyncio`` (valgrind's callgrind).

Wall-time ratios of ``bench_async_redis.py`` move with the machine's load; the
instructions each side executes per call do not. Each figure is the difference between a
process making ``N`` calls and one making none, divided by ``N``, so set-up and start-up
cancel out. Both sides send the same command on the same ``redis.asyncio`` client (the
backend's client of the running loop), one await at a time:

    .venv/bin/python benchmarks/count_async_redis_ops.py [--ops 1000]
        [--url redis://127.0.0.1:6379/0]

(needs ``valgrind`` and the Redis server; about 2 minutes). With ``--run SIDE OP N`` it
is the measured child. Keys live under a prefix of their own, removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import uuid
from collections.abc import Callable
from typing import Any

from callgrind import print_ratios

from aragora_storage_core.registry import Registry

OPS = ("cache.get", "cache.set")
WARM_UP = 50


async def _calls(registry: Registry, side: str, op: str, count: int, prefix: str) -> None:
    cache = registry.astore("cache")
    await cache.set("k", b"v")
    for _ in range(WARM_UP):
        await cache.get("k")
    backend: Any = registry.route("cache")
    client = backend.async_clients.current()
    name = f"{prefix}cache:k"
    if side == "store":
        if op == "cache.get":
            for _ in range(count):
                await cache.get("k")
        else:
            for _ in range(count):
                await cache.set("k", b"v")
    elif op == "cache.get":
        for _ in range(count):
            await client.get(name)
    else:
        for _ in range(count):
            await client.set(name, b"v", px=None)
    await client.unlink(name)
    await registry.aclose()


def child(side: str, op: str, count: int, url: str) -> None:
    """Make ``count`` calls of ``op`` on ``side`` (``store`` or ``raw``)."""
    prefix = f"countops{uuid.uuid4().hex[:8]}:"
    separator = "&" if "?" in url else "?"
    registry = Registry(env={"DATABASE_URL": f"{url}{separator}prefix={prefix}"})
    try:
        asyncio.run(_calls(registry, side, op, count, prefix))
    finally:
        registry.close()


def argv(side: str, op: str, url: str) -> Callable[[int], list[str]]:
    """The command line of the child making ``N`` calls of ``op`` on ``side``."""
    here = os.path.abspath(__file__)
    return lambda count: [sys.executable, here, "--run", side, op, str(count), "--url", url]


def main() -> None:
    """Print instructions per call of both sides and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=1000)
    parser.add_argument("--url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--run", nargs=3, metavar=("SIDE", "OP", "N"))
    args = parser.parse_args()
    if args.run:
        child(args.run[0], args.run[1], int(args.run[2]), args.url)
        return
    print_ratios(OPS, ("store", "raw"),
                 ("async store instructions/call", "redis.asyncio instructions/call"),
                 lambda side, op: argv(side, op, args.url), args.ops)

if __name__ == "__main__":
    main()
