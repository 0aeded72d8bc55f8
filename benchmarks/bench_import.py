"""Cost of ``import aragora_storage_core`` vs ``import pluggy``, in fresh interpreters.

Each sample is a new ``python`` process that times one import statement with
``perf_counter`` (interpreter start-up is not counted); statements take turns, bytecode
caches are warm, and the table shows the median over all samples. Target: the core costs
at most 1.5x pluggy alone (the core imports pluggy itself, so the ratio is never below 1).

    .venv/bin/python benchmarks/bench_import.py [--runs 40]
"""

from __future__ import annotations

import argparse
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


def sample(statement: str, cwd: str) -> float:
    """Seconds one fresh interpreter spends on ``statement``."""
    result = subprocess.run([sys.executable, "-c", _TIMER.format(statement=statement)],
                            cwd=cwd, capture_output=True, text=True, check=True)
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
    medians = {label: statistics.median(times) * 1000 for label, times in samples.items()}
    reference = medians["import pluggy"]
    print(f"import cost in fresh interpreters, median of {args.runs} runs each")
    print(f"{'statement':<42} {'ms':>7} {'vs pluggy':>10}")
    for label, ms in medians.items():
        print(f"{label:<42} {ms:>7.2f} {ms / reference:>9.2f}x")
    ratio = medians["import aragora_storage_core"] / reference
    print(f"target: import aragora_storage_core <= {TARGET}x import pluggy: "
          + ("ok" if ratio <= TARGET else "MISSED"))


if __name__ == "__main__":
    main()
