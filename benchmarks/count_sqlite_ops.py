"""Instructions per store operation vs raw ``sqlite3`` (valgrind's callgrind), not wall time.

On a loaded machine the wall-time ratios of ``bench_sqlite.py`` wander by ±10 %; the
instructions each side executes per operation do not. Each figure is the difference
between a process doing ``N`` operations and one doing none, divided by ``N``, so set-up
and start-up cancel out:

    .venv/bin/python benchmarks/count_sqlite_ops.py [--ops 2000] [--dir /dev/shm]

(needs ``valgrind``; about 3 minutes). With ``--run SIDE OP N`` it is the measured child.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable

from callgrind import print_ratios

OPS = ("get_by_id", "UserStore.create", "AuditStore.log", "TokenBlacklist.revoke",
       "UsageStore.record")


def child(side: str, op: str, count: int, directory: str) -> None:
    """Set both sides up in ``directory``, then run ``count`` calls of ``op`` on ``side``."""
    from bench_sqlite import Sides

    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        sides = Sides(tmp)
        call = sides.calls(side)[op]
        for i in range(count):
            call(i)
        sides.close()


def argv(side: str, op: str, directory: str) -> Callable[[int], list[str]]:
    """The command line of the child making ``N`` calls of ``op`` on ``side``."""
    here = os.path.abspath(__file__)
    return lambda count: [sys.executable, here, "--run", side, op, str(count),
                          "--dir", directory]


def main() -> None:
    """Print instructions per operation of both sides and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=2000)
    parser.add_argument("--dir", default=tempfile.gettempdir())
    parser.add_argument("--op", action="append", choices=OPS, help="only these (repeatable)")
    parser.add_argument("--run", nargs=3, metavar=("SIDE", "OP", "N"))
    args = parser.parse_args()
    if args.run:
        child(args.run[0], args.run[1], int(args.run[2]), args.dir)
        return
    print_ratios(args.op or OPS, ("registry", "raw"),
                 ("store instructions/op", "sqlite3 instructions/op"),
                 lambda side, op: argv(side, op, args.dir), args.ops)

if __name__ == "__main__":
    main()
