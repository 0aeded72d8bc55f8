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
import re
import subprocess
import sys
import tempfile

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


def instructions(side: str, op: str, count: int, directory: str) -> int:
    """Instructions of a whole child process (callgrind's total)."""
    here = os.path.dirname(os.path.abspath(__file__))
    result = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
         os.path.join(here, "count_sqlite_ops.py"), "--run", side, op, str(count),
         "--dir", directory], capture_output=True, text=True, check=True)
    match = re.search(r"Collected : (\d+)", result.stderr)
    assert match is not None, result.stderr[-500:]
    return int(match.group(1))


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
    print(f"| operation ({args.ops} calls) | store instructions/op | sqlite3 instructions/op"
          " | ratio |")
    print("| --- | ---: | ---: | ---: |")
    for op in args.op or OPS:
        per_op = {side: (instructions(side, op, args.ops, args.dir)
                         - instructions(side, op, 0, args.dir)) / args.ops
                  for side in ("registry", "raw")}
        print(f"| {op} | {per_op['registry']:.0f} | {per_op['raw']:.0f} | "
              f"{per_op['registry'] / per_op['raw']:.3f} |")


if __name__ == "__main__":
    main()
