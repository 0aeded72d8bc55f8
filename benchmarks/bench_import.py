"""Cost of ``import aragora_storage_core`` vs ``import pluggy``, in fresh interpreters.

Each sample is a new ``python`` process that times one import statement with
``perf_counter`` (interpreter start-up is not counted); statements take turns, bytecode
caches are warm (``PYTHONDONTWRITEBYTECODE`` is dropped for the children, as after
``pip install``). The ratio is the median over turns of statement / ``import pluggy``
timed in the same turn, which keeps the load of other processes out of it. Target: the core costs
at most 1.5x pluggy alone (the core imports pluggy itself, so the ratio is never below 1).

    .venv/bin/python benchmarks/bench_import.py [--runs 40]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence

#: label -> import statement; the first is the reference the others are compared with.
STATEMENTS = {
    "import pluggy": "import pluggy",
    "import aragora_storage_core": "import aragora_storage_core",
    "from aragora_storage_core import hookimpl": "from aragora_storage_core import hookimpl",
    "import aragora_storage_core.registry": "import aragora_storage_core.registry",
}
TARGET = 1.5
_TIMER = "import time\nt = time.perf_counter()\n{statement}\nprint(time.perf_counter() - t)\n"


#: As after ``pip install``: bytecode caches are written once, then used.
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def sample(statement: str, cwd: str) -> float:
    """Seconds one fresh interpreter spends on ``statement``."""
    result = subprocess.run([sys.executable, "-c", _TIMER.format(statement=statement)],
                            cwd=cwd, env=_ENV, capture_output=True, text=True, check=True)
    return float(result.stdout)


def main(argv: Sequence[str] | None = None) -> None:
    """Sample every statement in turn and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args(argv)
    samples: dict[str, list[float]] = {label: [] for label in STATEMENTS}
    with tempfile.TemporaryDirectory() as cwd:  # not the checkout: import what is installed
        for statement in STATEMENTS.values():  # warm the bytecode caches
            sample(statement, cwd)
        for _ in range(args.runs):
            for label, statement in STATEMENTS.items():
                samples[label].append(sample(statement, cwd))
    reference = samples["import pluggy"]
    print(f"import cost in fresh interpreters, {args.runs} runs each, taking turns")
    print(f"{'statement':<42} {'min ms':>7} {'median':>7} {'vs pluggy':>10}")
    for label, times in samples.items():
        ratio = statistics.median(t / r for t, r in zip(times, reference, strict=True))
        print(f"{label:<42} {min(times) * 1000:>7.2f} {statistics.median(times) * 1000:>7.2f}"
              f" {ratio:>9.2f}x")
    print("vs pluggy: median over runs of (statement / import pluggy in the same turn)")
    core = statistics.median(t / r for t, r in zip(samples["import aragora_storage_core"],
                                                   reference, strict=True))
    print(f"target: import aragora_storage_core <= {TARGET}x import pluggy: "
          + ("ok" if core <= TARGET else "MISSED"))


if __name__ == "__main__":
    main()
