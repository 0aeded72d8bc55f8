"""Wall time of ``aragora-storage doctor`` on the embedded SQLite default.

Every sample is the real console script in a new process, with every variable the
package reads removed from the environment (so the embedded default is selected), in a
working directory of its own. Commands take turns; the table shows the median. For
scale: ``python -c pass`` (interpreter start-up) and ``aragora-storage --help``.
Target: doctor well under one second.

``doctor`` and ``plugins`` import every installed plugin: one row runs doctor with every
plugin from another distribution disabled (what a bare install has), and a second table
shows what importing each plugin module costs in a fresh interpreter (after the core):
a plugin that imports its driver at module level shows up there.

    .venv/bin/python benchmarks/bench_doctor.py [--runs 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path

from aragora_storage_core.plugins import BACKEND_GROUP, PLUGIN_GROUP
from aragora_storage_core.settings import ENV_VARS

BIN = Path(sys.executable).parent
TARGET_SECONDS = 1.0


def clean_env() -> dict[str, str]:
    """``os.environ`` without any variable the package reads, writing bytecode caches.

    ``PYTHONDONTWRITEBYTECODE`` is dropped so that, as after ``pip install``, modules are
    not compiled again on every run.
    """
    names = {n for var in ENV_VARS for n in (var.name, *var.aliases)}
    names.add("PYTHONDONTWRITEBYTECODE")
    return {k: v for k, v in os.environ.items()
            if k not in names and not k.startswith("ARAGORA_")}


def wall(command: Sequence[str], cwd: Path, env: dict[str, str]) -> float:
    """Seconds ``command`` takes from start to exit (exit 0, or 1 for findings)."""
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                            check=False)
    elapsed = time.perf_counter() - start
    if result.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} exited {result.returncode}: {result.stderr}")
    return elapsed


_PLUGIN_IMPORT = (
    "import time, aragora_storage_core.registry\n"
    "t = time.perf_counter()\nimport {module}\nprint(time.perf_counter() - t)\n"
)


def plugin_modules() -> list[str]:
    """The module of every installed plugin entry point."""
    return sorted({ep.value.partition(":")[0] for group in (BACKEND_GROUP, PLUGIN_GROUP)
                   for ep in entry_points(group=group)})


def other_distributions() -> list[str]:
    """Distributions other than the core that register plugins (what a bare install lacks)."""
    return sorted({ep.dist.metadata["Name"] for group in (BACKEND_GROUP, PLUGIN_GROUP)
                   for ep in entry_points(group=group)
                   if ep.dist is not None and ep.dist.metadata["Name"] != "aragora-storage"})


def import_seconds(module: str, cwd: Path, env: dict[str, str]) -> float:
    """Seconds a fresh interpreter that already has the core spends importing ``module``."""
    result = subprocess.run([sys.executable, "-c", _PLUGIN_IMPORT.format(module=module)],
                            cwd=cwd, env=env, capture_output=True, text=True, check=True)
    return float(result.stdout)


def main(argv: Sequence[str] | None = None) -> None:
    """Time each command in turn and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args(argv)
    cli = str(BIN / "aragora-storage")
    env = clean_env()
    with tempfile.TemporaryDirectory() as tmp:
        empty, used = Path(tmp, "empty"), Path(tmp, "used")
        empty.mkdir()
        used.mkdir()
        subprocess.run([cli, "migrate", "--migrate"], cwd=used, env=env, check=True,
                       capture_output=True)
        bare = {**env, "ARAGORA_STORAGE_DISABLE_PLUGINS": ",".join(other_distributions())}
        commands: dict[str, tuple[list[str], Path, dict[str, str]]] = {
            "python -c pass": ([sys.executable, "-c", "pass"], empty, env),
            "aragora-storage --help": ([cli, "--help"], empty, env),
            "aragora-storage plugins": ([cli, "plugins"], empty, env),
            "doctor, nothing created yet": ([cli, "doctor"], empty, env),
            "doctor, every database migrated": ([cli, "doctor"], used, env),
            "doctor --json, every database migrated": ([cli, "doctor", "--json"], used, env),
            "doctor, only the core's plugins loaded": ([cli, "doctor"], used, bare),
        }
        samples: dict[str, list[float]] = {label: [] for label in commands}
        for command in commands.values():  # warm the bytecode caches
            wall(*command)
        for _ in range(args.runs):
            for label, command in commands.items():
                samples[label].append(wall(*command))
        plugins = {m: sorted(import_seconds(m, empty, env) for _ in range(5))[2]
                   for m in plugin_modules()}
    print(f"wall time of the real command, median of {args.runs} runs, embedded SQLite default")
    print(f"{'command':<40} {'ms':>8}")
    for label, times in samples.items():
        print(f"{label:<40} {statistics.median(times) * 1000:>8.1f}")
    slowest = max(statistics.median(t) for label, t in samples.items() if "doctor" in label)
    print(f"target: doctor < {TARGET_SECONDS:g} s: "
          + ("ok" if slowest < TARGET_SECONDS else "MISSED") + f" (slowest {slowest:.3f} s)")
    print(f"\n{'plugin module (imported after the core)':<40} {'ms':>8}")
    for module, seconds in plugins.items():
        print(f"{module:<40} {seconds * 1000:>8.1f}")


if __name__ == "__main__":
    main()
