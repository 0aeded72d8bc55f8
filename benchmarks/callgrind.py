"""Instructions counted by valgrind's callgrind: figures the machine's load does not move."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterable


def instructions(argv: list[str], env: dict[str, str] | None = None,
                 cwd: str | None = None) -> int:
    """Instructions of one run of ``argv`` (callgrind's total)."""
    result = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                             *argv], env=env, cwd=cwd, capture_output=True, text=True,
                            check=True)
    match = re.search(r"Collected : (\d+)", result.stderr)
    assert match is not None, result.stderr[-500:]
    return int(match.group(1))


def per_call(argv_for: Callable[[int], list[str]], count: int) -> float:
    """Instructions per call: a run making ``count`` calls (``argv_for(count)``) less one
    making none, divided by ``count``, so set-up and start-up cancel out."""
    return (instructions(argv_for(count)) - instructions(argv_for(0))) / count


def print_ratios(ops: Iterable[str], sides: tuple[str, str], headers: tuple[str, str],
                 argv_for: Callable[[str, str], Callable[[int], list[str]]],
                 count: int) -> None:
    """Print a Markdown table: instructions per call of each op on both sides, and their
    ratio (first side over second); ``argv_for(side, op)`` gives the child's command line
    for a number of calls."""
    print(f"| operation ({count} calls) | {headers[0]} | {headers[1]} | ratio |")
    print("| --- | ---: | ---: | ---: |")
    for op in ops:
        first, second = (per_call(argv_for(side, op), count) for side in sides)
        print(f"| {op} | {first:.0f} | {second:.0f} | {first / second:.3f} |")
