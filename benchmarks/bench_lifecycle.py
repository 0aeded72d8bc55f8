"""Lifecycle speed and memory, side by side with the hand-written equivalents, in one run.

1. Consolidating ``--rows`` legacy rows (default 1,000,000) spread over every table of the
   real layout (the 22 legacy files of the application, made from
   ``shared/aragora-layout.json``, plus the account files) with ``consolidate`` versus a
   hand-written ``ATTACH`` + ``INSERT INTO ... SELECT`` of the same tables (renames
   included) into the same schema (both without the backup, timed on its own line).
2. ``backup create`` of the SQLite backend versus ``cp`` of the same files, on a quiet
   database (page cache warm for both).
3. Peak memory of consolidation, backup and copy at two sizes (``--memory-rows``), each in
   a fresh subprocess: it should stay flat as the data grows.

Run from the repository root: ``.venv/bin/python benchmarks/bench_lifecycle.py``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aragora_storage_core.consolidate.run import consolidate  # noqa: E402
from aragora_storage_core.layout import DATABASES, ConsolidatedDatabase, Naming  # noqa: E402
from aragora_storage_core.migrations.files import ROOT as MIGRATIONS  # noqa: E402
from tests.lifecycle.legacy_data import make_legacy  # noqa: E402


def make_source(directory: Path, rows: int) -> None:
    """Every legacy file of the real layout, ``rows`` rows spread evenly over its tables."""
    tables = sum(len(info.tables) for info in DATABASES)
    make_legacy(directory, rows_per_table=max(1, rows // tables))


def interleaved(actions: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Best wall time of each action over ``rounds`` rounds, the actions taking turns.

    Taking turns spreads the noise of a shared machine evenly over the contenders.
    """
    best = dict.fromkeys(actions, float("inf"))
    for _ in range(rounds):
        for name, action in actions.items():
            start = time.perf_counter()
            action()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def hand_written(source: Path, target: Path, *pragmas: str) -> None:
    """The baseline: same DDL, then ATTACH + INSERT INTO ... SELECT per legacy file."""
    target.mkdir()
    for home in ConsolidatedDatabase:
        conn = sqlite3.connect(target / home.filename, isolation_level=None)
        for pragma in pragmas:
            conn.execute(pragma)
        for info in DATABASES:
            if info.home is not home:
                continue
            for script in sorted((MIGRATIONS / info.type.value).glob("*.sql")):
                conn.executescript(script.read_text().partition("-- migrate:down")[0])
            legacy = source / info.legacy_file
            if not legacy.exists():
                continue
            conn.execute("ATTACH DATABASE ? AS legacy", (str(legacy),))
            conn.execute("BEGIN")
            for table in info.tables:
                columns = ", ".join(r[1] for r in conn.execute(
                    f"PRAGMA main.table_info({table.name})"))
                conn.execute(f"INSERT INTO main.{table.name} ({columns})"
                             f" SELECT {columns} FROM legacy.{table.named(Naming.LEGACY)}")
            conn.execute("COMMIT")
            conn.execute("DETACH DATABASE legacy")
        conn.close()


def bench_consolidation(work: Path, source: Path, rows: int, rounds: int) -> dict[str, float]:
    """Seconds for consolidate (no backup), the hand-written baseline, and the backup."""
    counter = iter(range(1000))

    def fresh() -> Path:
        return work / f"consolidated-{next(counter)}"

    best = interleaved({
        "ours": lambda: consolidate(source, fresh(), backup=False),
        "base": lambda: hand_written(source, fresh()),
        "fast": lambda: hand_written(source, fresh(), "PRAGMA journal_mode = OFF",
                                     "PRAGMA synchronous = OFF"),
    }, rounds)
    with_backup = interleaved({"backup": lambda: consolidate(source, fresh())}, 1)["backup"]
    ours, base, fast = best["ours"], best["base"], best["fast"]
    return {"rows": rows, "consolidate_s": ours, "hand_written_s": base,
            "ratio": ours / base, "hand_written_unjournaled_s": fast,
            "ratio_unjournaled": ours / fast, "consolidate_with_backup_s": with_backup}


def bench_backup(work: Path, source: Path, rounds: int) -> dict[str, float]:
    """Seconds for the SQLite backup versus ``cp`` of the same files, like for like.

    ``api_copy``: the online backup API copy of every file, flushed (what ``cp`` + ``sync``
    does); ``backup create``: that plus SHA-256 of every file and the manifest (what
    ``cp`` + ``sha256sum`` + ``sync`` does).
    """
    from aragora_storage_core.backup.create import create_backup
    from aragora_storage_core.backup.sqlite import backup_file
    from aragora_storage_core.registry import Registry

    files = sorted(source.glob("*.db"))
    size = sum(f.stat().st_size for f in files)
    registry = Registry(env={})
    backend = registry.connect(f"sqlite:///{source}?mode=legacy")
    counter = iter(range(1000))

    def fresh(prefix: str) -> Path:
        destination = work / f"{prefix}-{next(counter)}"
        destination.mkdir()
        return destination

    def cp(*then: str) -> None:
        destination = fresh("cp")
        subprocess.run(["cp", *map(str, files), str(destination)], check=True)
        copies = [str(destination / f.name) for f in files]
        for tool in then:
            subprocess.run([tool, *copies], check=True, capture_output=True)

    def api_copy() -> None:
        destination = fresh("api")
        for file in files:
            backup_file(file, destination / file.name)

    results: dict[str, float] = {"bytes": size}
    results.update(interleaved({
        "cp_s": cp,
        "cp_sync_s": lambda: cp("sync"),
        "cp_sha256_sync_s": lambda: cp("sha256sum", "sync"),
        "api_copy_s": api_copy,
        "backup_create_s": lambda: create_backup(registry.hook, backend, work / "backups"),
    }, rounds))
    backend.close()
    results["ratio_api_copy_vs_cp_sync"] = results["api_copy_s"] / results["cp_sync_s"]
    results["ratio_create_vs_cp_sha256_sync"] = (results["backup_create_s"]
                                                 / results["cp_sha256_sync_s"])
    results["ratio_create_vs_cp"] = results["backup_create_s"] / results["cp_s"]
    return results


MEMORY_PROBE = """
import json, resource, sys
from pathlib import Path
op, source, work = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
from aragora_storage_core.registry import Registry
from aragora_storage_core.consolidate.run import consolidate
from aragora_storage_core.backup.create import create_backup
from aragora_storage_core.copy import copy_backend
import tracemalloc
registry = Registry(env={})
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()
if op == "consolidate":
    consolidate(source, work, backup=False)
elif op == "backup":
    backend = registry.connect(f"sqlite:///{source}?mode=legacy")
    create_backup(registry.hook, backend, work)
else:
    copy_backend(registry.hook, registry.connect(f"sqlite:///{source}?mode=legacy"),
                 registry.connect(f"sqlite:///{work}?mode=consolidated"))
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
heap = tracemalloc.get_traced_memory()[1]
print(json.dumps({"before_kb": before, "peak_kb": after, "heap_peak_bytes": heap}))
"""


def bench_memory(work: Path, sizes: list[int]) -> list[dict[str, float]]:
    """Peak RSS of each operation at each size, each in its own fresh process."""
    results = []
    for rows in sizes:
        source = work / f"mem-{rows}"
        make_source(source, rows)
        for op in ("consolidate", "backup", "copy"):
            output = subprocess.run(
                [sys.executable, "-c", MEMORY_PROBE, op, str(source), str(work / f"{op}-{rows}")],
                check=True, capture_output=True, text=True, cwd=ROOT).stdout
            probe = json.loads(output)
            results.append({"op": op, "rows": rows, "peak_mb": probe["peak_kb"] / 1024,
                            "growth_mb": (probe["peak_kb"] - probe["before_kb"]) / 1024,
                            "python_heap_peak_mb": probe["heap_peak_bytes"] / 1e6})
    return results


def main() -> None:
    """Run every lifecycle benchmark and print a table (``--json`` for machine output)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000,
                        help="rows to consolidate and back up (default 1,000,000)")
    parser.add_argument("--memory-rows", type=int, nargs=2, default=[100_000, 400_000],
                        metavar=("SMALL", "LARGE"), help="the two sizes of the memory runs")
    parser.add_argument("--rounds", type=int, default=2,
                        help="rounds of the timed contenders, taking turns (default 2)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--no-backup-bench", action="store_true",
                        help="skip the backup-versus-cp part")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-lifecycle-") as tmp:
        work = Path(tmp)
        source = work / "legacy"
        make_source(source, args.rows)
        c = bench_consolidation(work, source, args.rows, args.rounds)
        b = {} if args.no_backup_bench else bench_backup(work, source, 2 * args.rounds + 1)
        memory = bench_memory(work, args.memory_rows)
        shutil.rmtree(work / "legacy")
    if args.json:
        print(json.dumps({"consolidation": c, "backup": b, "memory": memory}, indent=2))
        return
    print(f"consolidate {c['rows']:,} rows: {c['consolidate_s']:.2f}s  hand-written ATTACH+INSERT:"
          f" {c['hand_written_s']:.2f}s  ratio {c['ratio']:.2f}x"
          f"; same pragmas as ours (journal off): {c['hand_written_unjournaled_s']:.2f}s"
          f"  ratio {c['ratio_unjournaled']:.2f}x"
          f"  (with verified backup: {c['consolidate_with_backup_s']:.2f}s)")
    if b:
        print(f"backup {b['bytes'] / 1e6:.0f} MB: backup_file copy {b['api_copy_s']:.3f}s vs"
              f" cp+sync {b['cp_sync_s']:.3f}s: {b['ratio_api_copy_vs_cp_sync']:.2f}x;"
              f" backup create {b['backup_create_s']:.3f}s vs cp+sha256sum+sync"
              f" {b['cp_sha256_sync_s']:.3f}s: {b['ratio_create_vs_cp_sha256_sync']:.2f}x;"
              f" vs bare cp {b['cp_s']:.3f}s: {b['ratio_create_vs_cp']:.2f}x")
    for m in memory:
        print(f"memory {m['op']:<12} {m['rows']:>9,} rows: peak RSS {m['peak_mb']:.1f} MB"
              f" (+{m['growth_mb']:.1f} MB during the operation; Python heap peak"
              f" {m['python_heap_peak_mb']:.2f} MB)")


if __name__ == "__main__":
    main()
