"""``backup restore`` (SQLite) versus copying the same files with ``cp``, in one run.

A backup of ``--rows`` legacy rows (default 1,000,000, spread over every table of the
real layout, as ``bench_lifecycle.py`` makes them) is restored over the live files with
``aragora-storage backup restore NAME --yes`` (in process: verification, keeping the
replaced files as a backup, staging, flushing, renaming), taking turns with ``cp`` of the
backup's files over the live ones, bare and followed by ``sync`` (the restore flushes its
files; ``cp`` alone does not). The page cache is warm for every contender. Printed: the
best wall time of each over ``--rounds`` and the ratios, the CPU time (user + system, of
this process or of the ``cp`` children) too, since on a shared machine the wall time moves
with the other processes' load; with the load average.

Run from the repository root: ``.venv/bin/python benchmarks/bench_restore.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_lifecycle import make_source  # noqa: E402

from aragora_storage_core.backup.create import create_backup  # noqa: E402
from aragora_storage_core.backup.restore import check_restorable  # noqa: E402
from aragora_storage_core.cli import main as cli_main  # noqa: E402
from aragora_storage_core.registry import Registry  # noqa: E402


def bench_restore(work: Path, rows: int, rounds: int) -> dict[str, float]:
    """Seconds of the CLI restore, its verification alone, ``cp`` and ``cp`` + ``sync``."""
    live = work / "live"
    make_source(live, rows)
    url = f"sqlite:///{live}?mode=legacy"
    registry = Registry(env={})
    backend = registry.connect(url)
    backups = work / "backups"
    directory, manifest = create_backup(registry.hook, backend, backups)
    backend.close()
    files = [directory / entry.name for entry in manifest.files]

    def restore() -> None:
        with contextlib.redirect_stdout(io.StringIO()):
            code = cli_main(["--url", url, "backup", "restore", str(directory), "--yes",
                             "--dir", str(backups)])
        assert code == 0, code
        for kept in backups.iterdir():  # each restore keeps what it replaced: drop it
            if kept != directory:
                shutil.rmtree(kept)

    def cp(*then: str) -> None:
        subprocess.run(["cp", *map(str, files), str(live)], check=True)
        for tool in then:
            subprocess.run([tool], check=True)

    def verify() -> None:
        checking = Registry(env={}).connect(url)
        check_restorable(checking, directory)
        checking.close()

    actions = {"restore": restore, "cp": cp, "cp_sync": lambda: cp("sync"), "verify": verify}
    best = timed(actions, rounds)
    size = sum(entry.size for entry in manifest.files)
    result: dict[str, float] = {"rows": rows, "bytes": size, "files": len(files)}
    for name, (wall, cpu) in best.items():
        result[f"{name}_s"], result[f"{name}_cpu_s"] = wall, cpu
    for base in ("cp", "cp_sync"):
        result[f"ratio_vs_{base}"] = result["restore_s"] / result[f"{base}_s"]
        result[f"cpu_ratio_vs_{base}"] = result["restore_cpu_s"] / result[f"{base}_cpu_s"]
    return result


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(actions: dict[str, Callable[[], object]],
          rounds: int) -> dict[str, tuple[float, float]]:
    """Best wall and best CPU seconds of each action over ``rounds``, taking turns."""
    best = dict.fromkeys(actions, (float("inf"), float("inf")))
    for _ in range(rounds):
        for name, action in actions.items():
            cpu, start = cpu_seconds(), time.perf_counter()
            action()
            wall, cpu = time.perf_counter() - start, cpu_seconds() - cpu
            best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
    return best


def main() -> None:
    """Run the comparison and print it (``--json`` for machine output)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows (default 10^6)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds, the contenders taking turns (default 3)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-restore-") as tmp:
        result = bench_restore(Path(tmp), args.rows, args.rounds)
    load = os.getloadavg()
    if args.json:
        print(json.dumps({**result, "loadavg": load}, indent=2))
        return
    print(f"restore of {result['rows']:,} rows ({result['files']} files,"
          f" {result['bytes'] / 1e6:.0f} MB), best of {args.rounds}, load average"
          f" {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}:")
    print("| contender | wall s | restore / it | CPU s | restore / it (CPU) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print(f"| backup restore --yes | {result['restore_s']:.3f} | 1.00x |"
          f" {result['restore_cpu_s']:.3f} | 1.00x |")
    for name, label in (("cp", "cp"), ("cp_sync", "cp + sync")):
        print(f"| {label} | {result[f'{name}_s']:.3f} | {result[f'ratio_vs_{name}']:.2f}x |"
              f" {result[f'{name}_cpu_s']:.3f} | {result[f'cpu_ratio_vs_{name}']:.2f}x |")
    print(f"| (its verification alone, as the preview runs it) | {result['verify_s']:.3f} |"
          f" | {result['verify_cpu_s']:.3f} | |")

if __name__ == "__main__":
    main()
