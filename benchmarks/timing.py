"""What the benchmark scripts share: the workloads and the side-by-side timing.

Scripts run as ``python benchmarks/bench_x.py``, so this module is importable as
``timing`` from each of them.
"""

from __future__ import annotations

import gc
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

from aragora_storage_core.models import AuditEntry, User


def user(key: str) -> User:
    """A user as every side creates it."""
    return User(id=key, email=f"{key}@example.com", password_hash="h" * 64,
                password_salt="s" * 32, name="Bench User", preferences={"theme": "dark"})


def audit(i: int) -> AuditEntry:
    """An audit entry as every side logs it."""
    return AuditEntry(action="login", user_id=f"u{i % 100}", org_id="org-1",
                      resource_type="session", resource_id=str(i), details={"ok": True},
                      ip_address="127.0.0.1", user_agent="bench")


def per_op(run: Callable[[], Any], ops: int) -> float:
    """Seconds per operation of one timed batch (garbage collector off, as in timeit)."""
    gc.disable()
    try:
        start = time.perf_counter()
        run()
        return (time.perf_counter() - start) / ops
    finally:
        gc.enable()


def compare(name: str, ours: Callable[[int], object], raw: Callable[[int], object],
            pairs: int, batch: int) -> dict[str, Any]:
    """Median over ``pairs`` of ours/raw; within a pair the two sides alternate per call.

    Returns the operation name, the median milliseconds per operation of each side and
    the median ratio.
    """
    ours(0), raw(0)  # warm up: connections, code paths
    clock = time.perf_counter
    ratios, ours_times, raw_times = [], [], []
    gc.disable()
    try:
        for pair in range(pairs):
            spent_ours = spent_raw = 0.0
            for i in range(batch):
                first, second = (raw, ours) if (pair + i) % 2 else (ours, raw)
                start = clock()
                first(i)
                middle = clock()
                second(i)
                end = clock()
                if first is ours:
                    spent_ours, spent_raw = spent_ours + middle - start, spent_raw + end - middle
                else:
                    spent_raw, spent_ours = spent_raw + middle - start, spent_ours + end - middle
            ours_times.append(spent_ours / batch)
            raw_times.append(spent_raw / batch)
            ratios.append(spent_ours / spent_raw)
    finally:
        gc.enable()
    return {"operation": name, "store_ms": statistics.median(ours_times) * 1000,
            "raw_ms": statistics.median(raw_times) * 1000, "ratio": statistics.median(ratios)}


def print_table(rows: list[dict[str, Any]], raw_name: str, pairs: int, target: float) -> int:
    """Print :func:`compare` rows as a Markdown table; 0 when every ratio meets ``target``."""
    print(f"| operation ({pairs} pairs) | store ms/op | {raw_name} ms/op | ratio |")
    print("| --- | ---: | ---: | ---: |")
    for row in rows:
        flag = "" if row["ratio"] <= target else " (over target)"
        print(f"| {row['operation']} | {row['store_ms']:.3f} | {row['raw_ms']:.3f} | "
              f"{row['ratio']:.3f}{flag} |")
    return 0 if all(row["ratio"] <= target for row in rows) else 1


def threads_seconds(workers: int, each: int, unit: Callable[[int], Any]) -> float:
    """Seconds for ``workers`` threads, released together, each running ``unit(n)`` for
    its ``each`` numbers ``n`` (worker ``w`` takes ``w * each`` to ``w * each + each - 1``)."""
    release = threading.Barrier(workers + 1)

    def worker(w: int) -> None:
        release.wait()
        for i in range(each):
            unit(w * each + i)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(workers)]
    for thread in threads:
        thread.start()
    release.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start
